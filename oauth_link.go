package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/secret"
)

// ExchangeOAuthCode turns the one-time code of an OAuth sign-in into a
// session. The code's challenge is deleted on first use.
func (s *Service) ExchangeOAuthCode(ctx context.Context, code string, m Meta) (SignIn, error) {
	if err := s.rateLimit(ctx, "code-ip:"+m.IP, ruleCodeIP); err != nil {
		return SignIn{}, err
	}
	c, err := s.redeemToken(ctx, s.Store, kindOAuthCode, code, Errorf(CodeInvalidCode, "The sign-in code is invalid, expired or already used."))
	if err != nil {
		return SignIn{}, err
	}
	u, err := s.Store.UserByID(ctx, c.UserID)
	if err != nil {
		return SignIn{}, err
	}
	// An SSO code names the connection's org; the session starts there
	// while the user is still a member of it.
	var p oauthPayload
	_ = json.Unmarshal(c.Payload, &p)
	orgID := p.OrgID
	if orgID != "" {
		if _, err := s.Store.Membership(ctx, u.ID, orgID); err != nil {
			orgID = ""
		}
	}
	if orgID == "" {
		if orgID, err = defaultOrg(ctx, s.Store, u.ID); err != nil {
			return SignIn{}, err
		}
	}
	if p.Provider == "sso" {
		return s.signIn(ctx, u, orgID, m, viaSSO) // the identity provider owns MFA for its users
	}
	if err := s.requireSecondFactor(ctx, u, orgID, mfaPayload{AMR: viaOAuth.AMR, Method: "oauth", CookiesOnly: true}); err != nil {
		return SignIn{}, err
	}
	return s.signIn(ctx, u, orgID, m, viaOAuth)
}

// StartOAuthLink stores a request to link a provider to the caller's
// account and returns its handle, for the linking cookie. The handle is
// opaque: the user id stays in the database.
func (s *Service) StartOAuthLink(ctx context.Context, ac *AuthContext, provider, redirectTo string) (secret.Value, error) {
	if err := requireSession(ac); err != nil {
		return "", err
	}
	payload, _ := json.Marshal(oauthPayload{Provider: provider, RedirectTo: s.SafeRedirect(redirectTo)})
	h, err := s.issueToken(ctx, s.Store, Challenge{Kind: kindOAuthLink, UserID: ac.User.ID, Payload: payload}, OAuthAttemptTTL)
	return secret.Value(h), err
}

// linkOAuth links a profile to the attempt's user. An identity already on
// another account is not moved here: the user gets a transfer token and
// must confirm, signed in, with auth.oauth.transfer.confirm.
func (s *Service) linkOAuth(ctx context.Context, a OAuthAttempt, p OAuthProfile, m Meta) (OAuthResult, error) {
	done := OAuthResult{RedirectTo: a.RedirectTo}
	ident, err := s.Store.OAuthIdentityBySubject(ctx, p.Provider, p.Subject)
	switch {
	case err == nil && ident.UserID == a.LinkUserID:
		return done, nil
	case err == nil:
		payload, _ := json.Marshal(transferPayload{IdentityID: ident.ID, Provider: ident.Provider, Subject: ident.Subject, FromUserID: ident.UserID})
		token, err := s.issueToken(ctx, s.Store, Challenge{Kind: kindOAuthTransfer, UserID: a.LinkUserID, Payload: payload}, oauthTransferTTL)
		if err != nil {
			return OAuthResult{}, err
		}
		return OAuthResult{TransferToken: secret.Value(token)}, nil
	case !errors.Is(err, ErrNotFound):
		return OAuthResult{}, err
	}
	email, _ := NormalizeEmail("email", p.Email)
	ident = OAuthIdentity{ID: secret.ID("oid_"), UserID: a.LinkUserID, Provider: p.Provider, Subject: p.Subject, Email: email, CreatedAt: s.now()}
	if err := s.Store.CreateOAuthIdentity(ctx, ident); errors.Is(err, ErrConflict) {
		return OAuthResult{}, alreadyLinked()
	} else if err != nil {
		return OAuthResult{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: a.LinkUserID, Action: "oauth.linked", Target: ident.ID, IP: m.IP, UserAgent: m.UserAgent, Data: providerData(p.Provider)})
	return done, nil
}

func alreadyLinked() *Error {
	return Errorf(CodeAlreadyLinked, "Your account is already connected to another account of this provider. Disconnect it first.")
}

// ConfirmOAuthTransfer moves the identity named by a transfer token into
// the caller's account. Only the user the token was issued to may use it;
// a wrong user leaves it intact. The other account must keep a way to
// sign in.
func (s *Service) ConfirmOAuthTransfer(ctx context.Context, ac *AuthContext, token string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	invalid := Errorf(CodeInvalidToken, "The transfer link is invalid, expired or already used.")
	if err := s.rateLimit(ctx, "code-ip:"+ac.Meta.IP, ruleCodeIP); err != nil {
		return err
	}
	if token == "" || len(token) > 256 {
		return invalid
	}
	var moved OAuthIdentity
	err := s.Store.Tx(ctx, func(tx Store) error {
		c, err := tx.ChallengeBySecret(ctx, kindOAuthTransfer, secret.Hash(token))
		if errors.Is(err, ErrNotFound) || (err == nil && !s.now().Before(c.ExpiresAt)) {
			return invalid
		} else if err != nil {
			return err
		}
		if c.UserID != ac.User.ID {
			return Errorf(CodeForbidden, "This transfer was offered to another account.")
		}
		if err := tx.DeleteChallenge(ctx, c.ID); err != nil {
			return err
		}
		var p transferPayload
		if err := json.Unmarshal(c.Payload, &p); err != nil {
			return err
		}
		// Lock the account the identity leaves before reading it, as an
		// unlink does, so neither can leave the other's as its last method.
		from, err := tx.UserForUpdate(ctx, p.FromUserID)
		if errors.Is(err, ErrNotFound) {
			return invalid
		} else if err != nil {
			return err
		}
		ident, err := tx.OAuthIdentityBySubject(ctx, p.Provider, p.Subject)
		if errors.Is(err, ErrNotFound) || (err == nil && (ident.ID != p.IdentityID || ident.UserID != p.FromUserID)) {
			return invalid // unlinked or moved since the token was issued
		} else if err != nil {
			return err
		}
		if n, err := s.signInMethods(ctx, tx, from); err != nil {
			return err
		} else if n <= 1 {
			return Errorf(CodeLastAuthMethod, "The other account would have no way to sign in. Give it a password or another sign-in method first.")
		}
		if err := tx.MoveOAuthIdentity(ctx, ident.ID, ac.User.ID); errors.Is(err, ErrConflict) {
			return alreadyLinked()
		} else if err != nil {
			return err
		}
		moved = ident
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "oauth.transferred", Target: moved.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent, Data: providerData(moved.Provider)})
	s.audit(ctx, AuditEvent{ActorID: moved.UserID, Action: "oauth.transferred_away", Target: moved.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent, Data: providerData(moved.Provider)})
	return nil
}

// LinkedIdentity is one row of auth.oauth.list.
type LinkedIdentity struct {
	OAuthIdentity
	CanUnlink bool
}

// OAuthIdentities lists the caller's linked identities; CanUnlink is false
// for the only way the account can sign in.
func (s *Service) OAuthIdentities(ctx context.Context, ac *AuthContext) ([]LinkedIdentity, error) {
	if err := requireSession(ac); err != nil {
		return nil, err
	}
	ids, err := s.Store.OAuthIdentitiesOfUser(ctx, ac.User.ID)
	if err != nil {
		return nil, err
	}
	n, err := s.signInMethods(ctx, s.Store, *ac.User)
	if err != nil {
		return nil, err
	}
	out := make([]LinkedIdentity, 0, len(ids))
	for _, id := range ids {
		out = append(out, LinkedIdentity{OAuthIdentity: id, CanUnlink: n > 1})
	}
	return out, nil
}

// UnlinkOAuth removes the caller's identity of a provider, unless it is
// their only way to sign in.
func (s *Service) UnlinkOAuth(ctx context.Context, ac *AuthContext, provider string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if provider == "" {
		return Invalid("provider", "provider is required.")
	}
	var gone OAuthIdentity
	err := s.Store.Tx(ctx, func(tx Store) error {
		u, err := tx.UserForUpdate(ctx, ac.User.ID) // first: removals of sign-in methods serialize
		if err != nil {
			return err
		}
		ids, err := tx.OAuthIdentitiesOfUser(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if id.Provider == provider {
				gone = id
			}
		}
		if gone.ID == "" {
			return Errorf(CodeNotLinked, "No %s account is connected.", truncate(provider, 64))
		}
		if n, err := s.signInMethods(ctx, tx, u); err != nil {
			return err
		} else if n <= 1 {
			return Errorf(CodeLastAuthMethod, "This is your only way to sign in. Set a password or add another method first.")
		}
		return tx.DeleteOAuthIdentity(ctx, gone.ID)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "oauth.unlinked", Target: gone.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent, Data: providerData(provider)})
	return nil
}

// signInMethods counts the ways u can sign in: a password, each linked
// identity and each passkey.
func (s *Service) signInMethods(ctx context.Context, st Store, u User) (int, error) {
	ids, err := st.OAuthIdentitiesOfUser(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	keys, err := st.PasskeysOfUser(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	n := len(ids) + len(keys)
	if u.HasPassword() {
		n++
	}
	return n, nil
}

// SafeRedirect returns where a browser may be sent after a flow: an
// absolute URL on the dashboard's origin, or a path resolved against the
// dashboard. Anything else, however encoded, yields "" (the caller falls
// back to the dashboard).
func (s *Service) SafeRedirect(raw string) string {
	if raw == "" || len(raw) > 2048 || strings.ContainsAny(raw, "\\\x00\t\r\n ") {
		return ""
	}
	dash, err := url.Parse(s.Config.DashboardURL)
	if err != nil || dash.Host == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return ""
	}
	if !u.IsAbs() {
		if u.Host != "" || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
			return ""
		}
		u = dash.ResolveReference(u)
	}
	if !strings.EqualFold(u.Scheme, dash.Scheme) || !strings.EqualFold(u.Host, dash.Host) {
		return ""
	}
	// "/.//evil.com" resolves to a path starting "//", which the OAuth
	// callback hands on as ?next= and a page would read as another host.
	if strings.HasPrefix(u.EscapedPath(), "//") {
		return ""
	}
	return u.String()
}
