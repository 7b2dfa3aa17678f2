package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/passkey"
)

// BeginPasskeyLogin starts a passkey sign-in. With an email the options list
// that account's passkeys in allowCredentials (an unknown email gets the same
// shape with an empty list); without, the browser offers the passkeys it
// holds for this site (discoverable credentials).
func (s *Service) BeginPasskeyLogin(ctx context.Context, email string, m Meta) (PasskeyCeremony, error) {
	rp, err := s.passkeys()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if err := s.rateLimit(ctx, "login-ip:"+m.IP, ruleLoginIP); err != nil {
		return PasskeyCeremony{}, err
	}
	var c passkey.Ceremony
	if email == "" {
		c, err = rp.BeginDiscoverableLogin()
	} else {
		c, err = s.beginEmailLogin(ctx, rp, email)
	}
	if err != nil {
		return PasskeyCeremony{}, err
	}
	payload, err := json.Marshal(loginPayload{Session: c.Session})
	if err != nil {
		return PasskeyCeremony{}, err
	}
	id, err := s.issueToken(ctx, s.Store, Challenge{Kind: challengePasskeyLogin, Payload: payload}, passkeyChallengeTTL)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return PasskeyCeremony{ChallengeID: id, Options: c.Options}, nil
}

// beginEmailLogin begins a sign-in for the account of email, listing its
// passkeys; an unknown email gets options of the same shape that no
// passkey can satisfy.
func (s *Service) beginEmailLogin(ctx context.Context, rp *passkey.RelyingParty, email string) (passkey.Ceremony, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return passkey.Ceremony{}, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return rp.BeginLogin(passkey.User{})
	} else if err != nil {
		return passkey.Ceremony{}, err
	}
	ps, err := s.Store.PasskeysOfUser(ctx, u.ID)
	if err != nil {
		return passkey.Ceremony{}, err
	}
	return rp.BeginLogin(passkey.User{Handle: []byte(u.ID), Credentials: toPasskeyCredentials(ps)})
}

// FinishPasskeyLogin verifies an assertion (the JSON of
// PublicKeyCredential.toJSON()) and starts a session. The passkey's
// signature counter is updated; one that did not advance is refused and
// audited as a possibly cloned authenticator.
func (s *Service) FinishPasskeyLogin(ctx context.Context, challengeID string, credential json.RawMessage, m Meta) (SignIn, error) {
	rp, err := s.passkeys()
	if err != nil {
		return SignIn{}, err
	}
	if len(credential) == 0 {
		return SignIn{}, Invalid("credential", "credential is required: the JSON of PublicKeyCredential.toJSON().")
	}
	if err := s.rateLimit(ctx, "login-ip:"+m.IP, ruleLoginIP); err != nil {
		return SignIn{}, err
	}
	ch, err := s.consumeChallenge(ctx, challengePasskeyLogin, challengeID)
	if err != nil {
		return SignIn{}, err
	}
	var p loginPayload
	if err := json.Unmarshal(ch.Payload, &p); err != nil {
		return SignIn{}, fmt.Errorf("passkey challenge %s: %w", ch.ID, err)
	}
	var used PasskeyCredential // the stored passkey the assertion names
	lookup := func(credentialID []byte) (passkey.User, error) {
		pk, err := s.Store.PasskeyByCredentialID(ctx, credentialID)
		if errors.Is(err, ErrNotFound) {
			return passkey.User{}, passkey.ErrUnknownCredential
		} else if err != nil {
			return passkey.User{}, err
		}
		all, err := s.Store.PasskeysOfUser(ctx, pk.UserID)
		if err != nil {
			return passkey.User{}, err
		}
		used = pk
		return passkey.User{Handle: []byte(pk.UserID), Credentials: toPasskeyCredentials(all)}, nil
	}
	a, err := rp.FinishLogin(p.Session, credential, lookup)
	if err != nil {
		return SignIn{}, s.passkeyLoginError(ctx, err, used, m)
	}
	u, err := s.Store.UserByID(ctx, used.UserID)
	if err != nil {
		return SignIn{}, err
	}
	if err := s.requireNoSSO(ctx, u.Email); err != nil {
		return SignIn{}, err
	}
	now := s.now()
	used.SignCount, used.UserVerified, used.BackupState = a.Credential.SignCount, a.Credential.UserVerified, a.Credential.BackupState
	used.LastUsedAt = now
	var out SignIn
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.UpdatePasskeyUse(ctx, used); err != nil {
			return err
		}
		orgID, err := defaultOrg(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, u, orgID, m, now, viaPasskey(a.UserVerified))
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: out.Session.OrgID, Action: "user.login", Target: out.Session.ID, IP: m.IP, UserAgent: m.UserAgent,
		Data: mustJSON(map[string]string{"method": "passkey", "passkey_id": used.ID})})
	s.track(u.ID, "login_succeeded", map[string]any{"method": "passkey"})
	return out, nil
}

// passkeyLoginError audits a refused assertion and returns the caller's
// error. used is the stored passkey the assertion named, when one was found.
func (s *Service) passkeyLoginError(ctx context.Context, err error, used PasskeyCredential, m Meta) error {
	reason := "invalid_assertion"
	var counter *passkey.CounterError
	switch {
	case errors.Is(err, passkey.ErrMalformedCredential):
		return &Error{Code: CodeInvalidRequest, Field: "credential", Message: "credential is not the JSON of PublicKeyCredential.toJSON()."}
	case errors.As(err, &counter):
		reason = "counter_went_backwards"
		s.Logger.WarnContext(ctx, "passkey counter went backwards: possible cloned authenticator", "user", used.UserID, "passkey", used.ID, "stored", counter.Stored, "received", counter.Received)
		s.audit(ctx, AuditEvent{ActorID: used.UserID, Action: "passkey.counter_regressed", Target: used.ID, IP: m.IP, UserAgent: m.UserAgent,
			Data: mustJSON(map[string]uint32{"stored": counter.Stored, "received": counter.Received})})
	case errors.Is(err, passkey.ErrUnknownCredential):
		reason = "unknown_credential"
	case errors.Is(err, passkey.ErrChallengeMismatch), errors.Is(err, passkey.ErrVerificationFailed):
		s.Logger.InfoContext(ctx, "passkey assertion refused", "err", err)
	default:
		return err
	}
	if used.UserID != "" {
		s.audit(ctx, AuditEvent{ActorID: used.UserID, Action: "user.login_failed", Target: used.UserID, IP: m.IP, UserAgent: m.UserAgent,
			Data: mustJSON(map[string]string{"method": "passkey", "reason": reason})})
	}
	distinct := used.UserID
	if distinct == "" {
		distinct = "anonymous"
	}
	s.track(distinct, "login_failed", map[string]any{"method": "passkey", "reason": reason})
	return errPasskeyLoginFails
}

// ListPasskeys lists the caller's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, ac *AuthContext) ([]PasskeyCredential, error) {
	if err := requireSession(ac); err != nil {
		return nil, err
	}
	return s.Store.PasskeysOfUser(ctx, ac.User.ID)
}

// RenamePasskey renames one of the caller's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, ac *AuthContext, id, name string) (PasskeyCredential, error) {
	if err := requireSession(ac); err != nil {
		return PasskeyCredential{}, err
	}
	name, err := checkPasskeyName("name", name)
	if err != nil {
		return PasskeyCredential{}, err
	}
	if name == "" {
		return PasskeyCredential{}, Invalid("name", "A name is required.")
	}
	if id == "" {
		return PasskeyCredential{}, Invalid("id", "id is required.")
	}
	if err := s.Store.RenamePasskey(ctx, ac.User.ID, id, name); errors.Is(err, ErrNotFound) {
		return PasskeyCredential{}, errNoSuchPasskey
	} else if err != nil {
		return PasskeyCredential{}, err
	}
	ps, err := s.Store.PasskeysOfUser(ctx, ac.User.ID)
	if err != nil {
		return PasskeyCredential{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "passkey.renamed", Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
			return p, nil
		}
	}
	return PasskeyCredential{}, errNoSuchPasskey
}

var errNoSuchPasskey = Errorf(CodeNotFound, "You have no passkey with that id.")

// DeletePasskey deletes one of the caller's passkeys, unless it is their
// last way to sign in (409 last_auth_method).
func (s *Service) DeletePasskey(ctx context.Context, ac *AuthContext, id string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if id == "" {
		return Invalid("id", "id is required.")
	}
	err := s.Store.Tx(ctx, func(tx Store) error {
		u, err := tx.UserForUpdate(ctx, ac.User.ID) // first: removals of sign-in methods serialize
		if err != nil {
			return err
		}
		ps, err := tx.PasskeysOfUser(ctx, ac.User.ID)
		if err != nil {
			return err
		}
		found := false
		for _, p := range ps {
			found = found || p.ID == id
		}
		if !found {
			return errNoSuchPasskey
		}
		if n, err := s.signInMethods(ctx, tx, u); err != nil {
			return err
		} else if n <= 1 {
			return Errorf(CodeLastAuthMethod, "This passkey is your only way to sign in. Add another passkey or a password first.")
		}
		return tx.DeletePasskey(ctx, u.ID, id)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "passkey.deleted", Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers are passed
	}
	return b
}
