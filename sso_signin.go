package latchkey

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// ChallengeSSOAttempt is the challenge kind of a pending SSO sign-in.
const ChallengeSSOAttempt = "sso_attempt"

// ssoAttemptTTL bounds the time spent at the IdP.
const ssoAttemptTTL = 10 * time.Minute

// Error codes of SSO sign-in, carried to <dashboard>/login?error=.
const (
	CodeSSOFailed         = "sso_failed"          // the IdP's answer did not verify
	CodeSSOInvalidState   = "invalid_state"       // no attempt started in this browser
	CodeSSODomainMismatch = "sso_domain_mismatch" // the email is outside the connection's domains
	CodeSSOReplayed       = "sso_replayed"        // an assertion ID seen before
	CodeAccountExists     = "account_exists"      // the email belongs to someone outside the org
	CodeSSOUnavailable    = "sso_unavailable"     // the IdP could not be reached
)

// SSOAttempt is what the protocol side needs between start and callback.
// Verifier and Nonce are derived from the browser's secret, so the
// database holds nothing that would let a reader finish a sign-in.
type SSOAttempt struct {
	ConnectionID string `json:"connection_id"`
	State        string `json:"state"`      // OIDC state or SAML RelayState
	RequestID    string `json:"request_id"` // SAML AuthnRequest ID
	Verifier     string `json:"-"`          // PKCE code verifier
	Nonce        string `json:"-"`          // OIDC nonce
}

func deriveSecrets(a *SSOAttempt, browserSecret string) {
	d := func(label string) string {
		sum := sha256.Sum256([]byte(label + browserSecret))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	a.Verifier, a.Nonce = d("latchkey sso pkce:")+d("latchkey sso pkce 2:"), d("latchkey sso nonce:")
}

// BeginSSO starts a sign-in at a connection: build makes the IdP URL for
// the attempt and, for SAML, returns the AuthnRequest ID. The returned
// browser secret goes in a short-lived cookie; only its hash is stored.
func (s *Service) BeginSSO(ctx context.Context, connectionID string, m Meta, build func(SSOAttempt) (redirect, requestID string, err error)) (redirect, browserSecret string, err error) {
	// Each start stores a row until it expires: bound them per client.
	if err := s.rateLimit(ctx, "sso-start-ip:"+m.IP, ruleLoginIP); err != nil {
		return "", "", err
	}
	browserSecret = secret.Token("")
	a := SSOAttempt{ConnectionID: connectionID, State: secret.Token("")}
	deriveSecrets(&a, browserSecret)
	redirect, a.RequestID, err = build(a)
	if err != nil {
		return "", "", err
	}
	payload, err := json.Marshal(a)
	if err != nil {
		return "", "", err
	}
	now := s.now()
	c := Challenge{
		ID: secret.ID("chl_"), Kind: ChallengeSSOAttempt, SecretHash: secret.Hash(browserSecret),
		Payload: payload, CreatedAt: now, ExpiresAt: now.Add(ssoAttemptTTL),
	}
	if err := s.Store.CreateChallenge(ctx, c); err != nil {
		return "", "", err
	}
	s.sweepChallenges(ctx)
	return redirect, browserSecret, nil
}

// ResumeSSO ends the attempt the browser's secret names, once: it must be
// for connectionID and echo its state.
func (s *Service) ResumeSSO(ctx context.Context, connectionID, browserSecret, state string) (SSOAttempt, error) {
	invalid := Errorf(CodeSSOInvalidState, "The sign-in attempt expired or was started in another browser.")
	var a SSOAttempt
	err := s.Store.Tx(ctx, func(tx Store) error {
		c, err := s.redeemToken(ctx, tx, ChallengeSSOAttempt, browserSecret, invalid)
		if err != nil {
			return err
		}
		return json.Unmarshal(c.Payload, &a)
	})
	if err != nil {
		return SSOAttempt{}, err
	}
	if a.ConnectionID != connectionID || state == "" || !secret.Equal(a.State, state) {
		return SSOAttempt{}, invalid
	}
	deriveSecrets(&a, browserSecret)
	return a, nil
}

// SSOLogin is the identity a connection's IdP vouched for.
type SSOLogin struct {
	Subject string
	Email   string
	Name    string
	// AssertionID is set for SAML: each is accepted once, until
	// AssertionExpiry.
	AssertionID     string
	AssertionExpiry time.Time
}

// CompleteSSO provisions the user an IdP vouched for and returns a
// one-time code for the dashboard, redeemed by auth.oauth.exchange into a
// session in the connection's org. The user is found by the connection's
// subject, else by email among the org's members, else created as a
// member of the org with a verified email.
func (s *Service) CompleteSSO(ctx context.Context, connectionID string, in SSOLogin, m Meta) (code string, err error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return "", Errorf(CodeSSOFailed, "The identity provider sent no usable email address.")
	}
	if in.Subject == "" || len(in.Subject) > 512 {
		return "", Errorf(CodeSSOFailed, "The identity provider sent no usable subject.")
	}
	name, _ := checkName("name", in.Name)
	var u User
	var orgID string
	created := false
	err = s.Store.Tx(ctx, func(tx Store) error {
		conn, err := tx.SSOConnectionByID(ctx, connectionID)
		if err != nil {
			return err
		}
		orgID = conn.OrgID
		// Only a proven domain lets the IdP vouch for an address: an org
		// that merely claims a domain must not provision its people.
		if !slices.Contains(conn.Domains, EmailDomain(email)) || !conn.domainVerified(EmailDomain(email)) {
			return Errorf(CodeSSODomainMismatch, "The identity provider vouched for an address outside this connection's domains.")
		}
		now := s.now()
		if in.AssertionID != "" {
			err := tx.ConsumeSSOAssertion(ctx, conn.ID, in.AssertionID, in.AssertionExpiry, now)
			if errors.Is(err, ErrConflict) {
				return Errorf(CodeSSOReplayed, "This sign-in response was already used.")
			} else if err != nil {
				return err
			}
		}
		u, created, err = s.provisionSSOUser(ctx, tx, conn, in.Subject, email, name, now)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(oauthPayload{Provider: "sso", OrgID: conn.OrgID})
		if err != nil {
			return err
		}
		code, err = s.issueToken(ctx, tx, Challenge{Kind: kindOAuthCode, UserID: u.ID, Payload: payload}, oauthCodeTTL)
		return err
	})
	if err != nil {
		return "", err
	}
	if created {
		s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: orgID, Action: "user.registered", Target: u.ID, IP: m.IP, UserAgent: m.UserAgent})
		s.track(u.ID, "signup_completed", map[string]any{"method": "sso"})
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: orgID, Action: "user.login", Target: connectionID, IP: m.IP, UserAgent: m.UserAgent})
	s.track(u.ID, "login_succeeded", map[string]any{"method": "sso"})
	return code, nil
}

// provisionSSOUser finds or creates the user for a subject, inside tx.
func (s *Service) provisionSSOUser(ctx context.Context, tx Store, conn SSOConnection, subject, email, name string, now time.Time) (User, bool, error) {
	ident, err := tx.SSOIdentity(ctx, conn.ID, subject)
	switch {
	case err == nil:
		u, err := tx.UserByID(ctx, ident.UserID)
		if err != nil {
			return User{}, false, err
		}
		return u, false, s.ensureMember(ctx, tx, u.ID, conn.OrgID, now)
	case !errors.Is(err, ErrNotFound):
		return User{}, false, err
	}
	u, err := tx.UserByEmail(ctx, email)
	created := false
	switch {
	case err == nil:
		if _, err := tx.Membership(ctx, u.ID, conn.OrgID); errors.Is(err, ErrNotFound) {
			// Domains are claimed, not proven: an org must not take over
			// an account that never joined it.
			return User{}, false, Errorf(CodeAccountExists, "An account with this email exists outside the organization. Ask an admin to invite it first.")
		} else if err != nil {
			return User{}, false, err
		}
		if !u.EmailVerified {
			u.EmailVerified, u.UpdatedAt = true, now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return User{}, false, err
			}
			if err := s.emitUser(ctx, tx, EventUserUpdated, u); err != nil {
				return User{}, false, err
			}
		}
	case errors.Is(err, ErrNotFound):
		u = User{ID: secret.ID("usr_"), Email: email, EmailVerified: true, Name: name, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return User{}, false, err
		}
		if err := s.emitUser(ctx, tx, EventUserCreated, u); err != nil {
			return User{}, false, err
		}
		m := Membership{UserID: u.ID, OrgID: conn.OrgID, Role: RoleMember, CreatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return User{}, false, err
		}
		if err := s.emitMember(ctx, tx, EventMemberAdded, m, ""); err != nil {
			return User{}, false, err
		}
		created = true
	default:
		return User{}, false, err
	}
	err = tx.CreateSSOIdentity(ctx, SSOIdentity{ConnectionID: conn.ID, Subject: subject, UserID: u.ID, Email: email, CreatedAt: now})
	return u, created, err
}

// ensureMember re-adds a member the IdP still vouches for after an admin
// removed them: the IdP decides who belongs.
func (s *Service) ensureMember(ctx context.Context, tx Store, userID, orgID string, now time.Time) error {
	_, err := tx.Membership(ctx, userID, orgID)
	if errors.Is(err, ErrNotFound) {
		m := Membership{UserID: userID, OrgID: orgID, Role: RoleMember, CreatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return err
		}
		return s.emitMember(ctx, tx, EventMemberAdded, m, "")
	}
	return err
}

// SAMLKeyPair returns the deployment's SAML service-provider key pair
// (PEM), creating it with generate on first use. The private key is
// sealed at rest.
func (s *Service) SAMLKeyPair(ctx context.Context, generate func() (certPEM, keyPEM []byte, err error)) (certPEM, keyPEM string, err error) {
	certPEM, keyPEM, err = s.Store.SAMLKeyPair(ctx)
	if errors.Is(err, ErrNotFound) {
		c, k, gerr := generate()
		if gerr != nil {
			return "", "", gerr
		}
		if err := s.Store.CreateSAMLKeyPair(ctx, string(c), sealString(s.Config.SecretKey, string(k)), s.now()); err != nil {
			return "", "", err
		}
		// Another node may have stored its own first: use whichever won.
		certPEM, keyPEM, err = s.Store.SAMLKeyPair(ctx)
	}
	if err != nil {
		return "", "", err
	}
	keyPEM, err = openStored(s.Config.SecretKey, keyPEM)
	return certPEM, keyPEM, err
}
