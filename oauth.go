package latchkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Sign-in through outside identity providers (GitHub, Google, any OpenID
// Connect provider). Package oauth speaks the protocols; the server glues
// them to the flows here, which decide what an asserted identity means for
// Latchkey's accounts:
//
//	BeginOAuth   store the attempt; its handle goes to a browser cookie
//	ResumeOAuth  the callback: check state against the cookie, burn the attempt
//	FinishOAuth  sign in, link, or offer a transfer, from the provider's profile
//	ExchangeOAuthCode, ConfirmOAuthTransfer, OAuthIdentities, UnlinkOAuth

// Challenge kinds of the OAuth flows.
const (
	kindOAuthState    = "oauth_state"
	kindOAuthLink     = "oauth_link"
	kindOAuthCode     = "oauth_code"
	kindOAuthTransfer = "oauth_transfer"
)

// Lifetimes of the OAuth challenges. The code only has to survive one
// redirect and one fetch.
const (
	OAuthAttemptTTL  = 10 * time.Minute
	oauthCodeTTL     = time.Minute
	oauthTransferTTL = 15 * time.Minute
)

// Codes of the OAuth browser routes: they travel as
// <dashboard>/login?error=<code>, never as an API error body.
const (
	OAuthErrAccountExists   = "account_exists"   // an account with the email exists; sign in to it and link
	OAuthErrInvalidState    = "invalid_state"    // state missing, mismatched, expired or used
	OAuthErrInvalidLink     = "invalid_link"     // the linking cookie names no live link request
	OAuthErrEmailRequired   = "email_required"   // the provider shared no email address
	OAuthErrProviderFailed  = "provider_error"   // the provider refused or could not be reached
	OAuthErrAccessDenied    = "access_denied"    // the person declined at the provider
	OAuthErrUnknownProvider = "unknown_provider" // no such provider is enabled
	OAuthErrAlreadyLinked   = CodeAlreadyLinked  // the account has another identity of that provider
)

// OAuthStore keeps the links between users and provider identities.
type OAuthStore interface {
	// CreateOAuthIdentity inserts an identity; ErrConflict when the
	// provider subject is linked already or the user has an identity of
	// that provider.
	CreateOAuthIdentity(ctx context.Context, i OAuthIdentity) error
	OAuthIdentityBySubject(ctx context.Context, provider, subject string) (OAuthIdentity, error)
	// MoveOAuthIdentity gives an identity to another user.
	MoveOAuthIdentity(ctx context.Context, id, userID string) error
	DeleteOAuthIdentity(ctx context.Context, id string) error
}

// OAuthProfile is what a provider asserted about the person who signed in.
type OAuthProfile struct {
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// OAuthAttempt is one browser's pending trip to a provider. Handle is the
// browser's secret, kept in a short-lived HttpOnly cookie; the database
// holds only its hash, and State, Verifier and Nonce are derived from it,
// so nothing stored server-side can complete the attempt.
type OAuthAttempt struct {
	Provider   string
	Handle     secret.Value
	State      string
	Verifier   string // PKCE code verifier
	Nonce      string
	RedirectTo string // validated destination after linking or sign-in
	LinkUserID string // set when the attempt links to a signed-in user
}

// OAuthResult says where the callback sends the browser: exactly one of
// Code (sign-in: <dashboard>/auth/callback?code=), TransferToken
// (<dashboard>/auth/transfer?token=) or, after a link, RedirectTo.
type OAuthResult struct {
	Code          secret.Value
	TransferToken secret.Value
	RedirectTo    string
}

type oauthPayload struct {
	Provider   string `json:"provider"`
	RedirectTo string `json:"redirect_to,omitempty"`
	// OrgID, on a sign-in code, is the org the session starts in (SSO
	// signs in to the connection's org); empty means the default org.
	OrgID string `json:"org_id,omitempty"`
}

type transferPayload struct {
	IdentityID string `json:"identity_id"`
	Provider   string `json:"provider"`
	Subject    string `json:"subject"`
	FromUserID string `json:"from_user_id"`
}

// newAttempt derives an attempt's protocol secrets from its handle.
func newAttempt(provider, handle string) OAuthAttempt {
	derive := func(label string) string {
		m := hmac.New(sha256.New, []byte(handle))
		m.Write([]byte(label))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	return OAuthAttempt{Provider: provider, Handle: secret.Value(handle),
		State: derive("state"), Verifier: derive("pkce"), Nonce: derive("nonce")}
}

func oauthError(code, msg string) *Error { return Errorf(code, "%s", msg) }

// BeginOAuthInput starts a trip to a provider. LinkHandle is the value of
// the linking cookie, when the browser has one.
type BeginOAuthInput struct {
	Provider   string
	RedirectTo string
	LinkHandle string
	Meta       Meta
}

// BeginOAuth stores a new attempt. With a LinkHandle it consumes the link
// request that auth.oauth.link.start stored, so the attempt links to that
// request's user; a forged, replayed or expired handle fails with
// invalid_link and links nothing.
func (s *Service) BeginOAuth(ctx context.Context, in BeginOAuthInput) (OAuthAttempt, error) {
	if err := s.rateLimit(ctx, "oauth-start-ip:"+in.Meta.IP, ruleCodeIP); err != nil {
		return OAuthAttempt{}, err // every start stores a challenge row
	}
	redirect := s.SafeRedirect(in.RedirectTo)
	linkUser := ""
	if in.LinkHandle != "" {
		c, err := s.redeemToken(ctx, s.Store, kindOAuthLink, in.LinkHandle, oauthError(OAuthErrInvalidLink, "The link request is invalid or expired. Start again from your account page."))
		if err != nil {
			return OAuthAttempt{}, err
		}
		var p oauthPayload
		if json.Unmarshal(c.Payload, &p) != nil || p.Provider != in.Provider || c.UserID == "" {
			return OAuthAttempt{}, oauthError(OAuthErrInvalidLink, "The link request was for another provider.")
		}
		linkUser = c.UserID
		if redirect == "" {
			redirect = p.RedirectTo
		}
	}
	payload, _ := json.Marshal(oauthPayload{Provider: in.Provider, RedirectTo: redirect})
	handle, err := s.issueToken(ctx, s.Store, Challenge{Kind: kindOAuthState, UserID: linkUser, Payload: payload}, OAuthAttemptTTL)
	if err != nil {
		return OAuthAttempt{}, err
	}
	a := newAttempt(in.Provider, handle)
	a.RedirectTo, a.LinkUserID = redirect, linkUser
	return a, nil
}

// ResumeOAuth checks a callback: the handle from the browser's cookie must
// name a live attempt for this provider, and state must be the one derived
// from it. The attempt is burned either way, so a callback works once.
func (s *Service) ResumeOAuth(ctx context.Context, provider, handle, state string) (OAuthAttempt, error) {
	invalid := oauthError(OAuthErrInvalidState, "The sign-in attempt expired or was started in another browser. Try again.")
	c, err := s.redeemToken(ctx, s.Store, kindOAuthState, handle, invalid)
	if err != nil {
		return OAuthAttempt{}, err
	}
	a := newAttempt(provider, handle)
	var p oauthPayload
	if json.Unmarshal(c.Payload, &p) != nil || p.Provider != provider || !secret.Equal(state, a.State) {
		return OAuthAttempt{}, invalid
	}
	a.RedirectTo, a.LinkUserID = p.RedirectTo, c.UserID
	return a, nil
}

// FinishOAuth acts on a verified profile: links it to the attempt's user,
// or signs in (creating the account when needed).
func (s *Service) FinishOAuth(ctx context.Context, a OAuthAttempt, p OAuthProfile, m Meta) (OAuthResult, error) {
	if p.Provider != a.Provider || p.Subject == "" {
		return OAuthResult{}, oauthError(OAuthErrProviderFailed, "The provider's answer was incomplete.")
	}
	if a.LinkUserID != "" {
		return s.linkOAuth(ctx, a, p, m)
	}
	u, err := s.oauthUser(ctx, p, m)
	if err != nil {
		if code := ErrorCode(err); code != CodeInternal {
			s.track("anonymous", "login_failed", map[string]any{"method": "oauth", "provider": p.Provider, "reason": code})
		}
		return OAuthResult{}, err
	}
	payload, _ := json.Marshal(oauthPayload{Provider: p.Provider, RedirectTo: a.RedirectTo})
	code, err := s.issueToken(ctx, s.Store, Challenge{Kind: kindOAuthCode, UserID: u.ID, Payload: payload}, oauthCodeTTL)
	if err != nil {
		return OAuthResult{}, err
	}
	return OAuthResult{Code: secret.Value(code), RedirectTo: a.RedirectTo}, nil
}

// oauthUser finds the account a sign-in profile belongs to: by identity;
// else by email, linking only when both the provider and Latchkey have
// verified the address; else a new account with its own org.
func (s *Service) oauthUser(ctx context.Context, p OAuthProfile, m Meta) (User, error) {
	ident, err := s.Store.OAuthIdentityBySubject(ctx, p.Provider, p.Subject)
	if err == nil {
		u, err := s.Store.UserByID(ctx, ident.UserID)
		if err != nil {
			return User{}, err
		}
		if err := s.requireNoSSO(ctx, u.Email); err != nil {
			return User{}, err // the organization wants its own sign-in
		}
		s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "user.login", Target: ident.ID, IP: m.IP, UserAgent: m.UserAgent})
		s.track(u.ID, "login_succeeded", map[string]any{"method": "oauth", "provider": p.Provider})
		return u, nil
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	email, err := NormalizeEmail("email", p.Email)
	if err != nil {
		return User{}, oauthError(OAuthErrEmailRequired, "The provider did not share a usable email address.")
	}
	if err := s.requireNoSSO(ctx, email); err != nil {
		return User{}, err
	}
	now := s.now()
	ident = OAuthIdentity{ID: secret.ID("oid_"), Provider: p.Provider, Subject: p.Subject, Email: email, CreatedAt: now}
	exists := oauthError(OAuthErrAccountExists, "An account with this email already exists. Sign in to it, then connect the provider from your account page.")
	u, err := s.Store.UserByEmail(ctx, email)
	switch {
	case err == nil && p.EmailVerified && u.EmailVerified:
		ident.UserID = u.ID
		if err := s.Store.CreateOAuthIdentity(ctx, ident); errors.Is(err, ErrConflict) {
			return User{}, exists
		} else if err != nil {
			return User{}, err
		}
		s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "oauth.linked", Target: ident.ID, IP: m.IP, UserAgent: m.UserAgent, Data: providerData(p.Provider)})
		s.track(u.ID, "login_succeeded", map[string]any{"method": "oauth", "provider": p.Provider})
		return u, nil
	case err == nil:
		return User{}, exists
	case !errors.Is(err, ErrNotFound):
		return User{}, err
	}
	return s.oauthSignup(ctx, p, ident, m, exists)
}

// oauthSignup creates the account, its org and its identity at once.
func (s *Service) oauthSignup(ctx context.Context, p OAuthProfile, ident OAuthIdentity, m Meta, exists error) (User, error) {
	name, err := checkName("name", p.Name)
	if err != nil {
		name = ""
	}
	now := ident.CreatedAt
	u := User{ID: secret.ID("usr_"), Email: ident.Email, EmailVerified: p.EmailVerified, Name: name, CreatedAt: now, UpdatedAt: now}
	ident.UserID = u.ID
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserCreated, u); err != nil {
			return err
		}
		if _, err := s.createOrgWithOwner(ctx, tx, personalOrgName(u, ""), u.ID, now); err != nil {
			return err
		}
		return tx.CreateOAuthIdentity(ctx, ident)
	})
	if errors.Is(err, ErrConflict) {
		return User{}, exists // someone took the email or identity a moment ago
	} else if err != nil {
		return User{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "user.registered", Target: u.ID, IP: m.IP, UserAgent: m.UserAgent, Data: providerData(p.Provider)})
	s.track(u.ID, "signup_completed", map[string]any{"method": "oauth", "provider": p.Provider})
	if !u.EmailVerified {
		s.afterSignup(ctx, u) // the verification code; a verified address needs none
	}
	return u, nil
}

func providerData(provider string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"provider": provider})
	return b
}
