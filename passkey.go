package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/passkey"
	"github.com/latchkey/latchkey/secret"
)

// PasskeyCredential is a user's registered passkey (WebAuthn credential).
type PasskeyCredential struct {
	ID                string // cred_…
	UserID            string
	Name              string
	CredentialID      []byte // chosen by the authenticator; unique
	PublicKey         []byte // COSE key
	SignCount         uint32
	Transports        []string
	AAGUID            []byte
	UserVerified      bool
	BackupEligible    bool // may be synced between devices
	BackupState       bool // is currently synced
	AttestationType   string
	AttestationFormat string
	CreatedAt         time.Time
	LastUsedAt        time.Time // zero until the first sign-in
}

// PasskeyStore is the storage of passkeys.
type PasskeyStore interface {
	// CreatePasskey inserts a passkey; ErrConflict when its credential ID
	// is already registered.
	CreatePasskey(ctx context.Context, p PasskeyCredential) error
	// PasskeysOfUser lists a user's passkeys, oldest first.
	PasskeysOfUser(ctx context.Context, userID string) ([]PasskeyCredential, error)
	// PasskeyByCredentialID finds a passkey by its WebAuthn credential ID.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (PasskeyCredential, error)
	// UpdatePasskeyUse writes sign_count, user_verified, backup_state and
	// last_used_at after a sign-in.
	UpdatePasskeyUse(ctx context.Context, p PasskeyCredential) error
	// RenamePasskey sets the name of a user's passkey; ErrNotFound when the
	// user has no passkey with that id.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey deletes a user's passkey; ErrNotFound as above.
	DeletePasskey(ctx context.Context, userID, id string) error
}

// Challenge kinds of the passkey ceremonies.
const (
	challengePasskeyRegister = "passkey_register"
	challengePasskeyLogin    = "passkey_login"
)

// passkeyChallengeTTL is how long a ceremony may take: the timeout the
// browser is given, and the life of its AuthChallenge row.
const passkeyChallengeTTL = 5 * time.Minute

// PasskeyCeremony is what a begin step returns: the id of the stored
// challenge and the options for the browser ({"publicKey": {...}}).
type PasskeyCeremony struct {
	ChallengeID string
	Options     json.RawMessage
}

// registerPayload is the payload of a passkey_register challenge.
type registerPayload struct {
	// Signup is set when the ceremony creates an account; the user does not
	// exist until it finishes.
	Signup  bool            `json:"signup,omitempty"`
	UserID  string          `json:"user_id"`
	Session json.RawMessage `json:"session"`
}

type loginPayload struct {
	Session json.RawMessage `json:"session"`
}

var (
	errPasskeysOff       = Errorf(CodeNotFound, "Passkeys are not enabled on this server.")
	errInvalidChallenge  = Errorf(CodeInvalidChallenge, "The passkey request expired or was already used. Start again.")
	errPasskeyNotValid   = &Error{Code: CodeInvalidRequest, Field: "credential", Message: "The passkey could not be verified. Try again."}
	errPasskeyLoginFails = Errorf(CodeInvalidCredentials, "That passkey is not valid for this account.")
)

func (s *Service) passkeys() (*passkey.RelyingParty, error) {
	if s.Passkeys == nil {
		return nil, errPasskeysOff
	}
	return s.Passkeys, nil
}

// BeginPasskeyRegistration starts creating a passkey. With an email it is a
// sign-up: the account is created only when the ceremony finishes, so an
// abandoned one leaves nothing behind. Without, it adds a passkey to the
// signed-in user of ac.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, ac *AuthContext, email string, m Meta) (PasskeyCeremony, error) {
	rp, err := s.passkeys()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	var u User
	var existing []PasskeyCredential
	signup := email != ""
	switch {
	case signup:
		if u.Email, err = NormalizeEmail("email", email); err != nil {
			return PasskeyCeremony{}, err
		}
		if err := s.rateLimit(ctx, "signup-ip:"+m.IP, ruleSignupIP); err != nil {
			return PasskeyCeremony{}, err
		}
		if err := s.requireNoSSO(ctx, u.Email); err != nil {
			return PasskeyCeremony{}, err
		}
		if _, err := s.Store.UserByEmail(ctx, u.Email); err == nil {
			return PasskeyCeremony{}, Errorf(CodeEmailTaken, "An account with this email already exists. Sign in to add a passkey.")
		} else if !errors.Is(err, ErrNotFound) {
			return PasskeyCeremony{}, err
		}
		u.ID = secret.ID("usr_")
	case ac == nil:
		return PasskeyCeremony{}, Invalid("email", "An email address is required to sign up (or sign in to add a passkey).")
	default:
		if err := requireSession(ac); err != nil {
			return PasskeyCeremony{}, err
		}
		u = *ac.User
		if existing, err = s.Store.PasskeysOfUser(ctx, u.ID); err != nil {
			return PasskeyCeremony{}, err
		}
	}
	c, err := rp.BeginRegistration(passkey.User{
		Handle: []byte(u.ID), Name: u.Email, DisplayName: u.Name, Credentials: toPasskeyCredentials(existing),
	})
	if err != nil {
		return PasskeyCeremony{}, err
	}
	payload, err := json.Marshal(registerPayload{Signup: signup, UserID: u.ID, Session: c.Session})
	if err != nil {
		return PasskeyCeremony{}, err
	}
	ch := Challenge{Kind: challengePasskeyRegister, Email: u.Email, Payload: payload}
	if !signup {
		ch.UserID = u.ID
	}
	id, err := s.issueToken(ctx, s.Store, ch, passkeyChallengeTTL)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return PasskeyCeremony{ChallengeID: id, Options: c.Options}, nil
}

// PasskeyRegistration is the result of a finished registration.
type PasskeyRegistration struct {
	Passkey PasskeyCredential
	// SignIn is set when the ceremony created the account.
	SignIn *SignIn
}

// FinishPasskeyRegistration verifies the created credential (the JSON of
// PublicKeyCredential.toJSON()) and stores it. A sign-up ceremony creates
// the account, its org, the passkey and a session in one transaction.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, ac *AuthContext, challengeID string, credential json.RawMessage, name string, m Meta) (PasskeyRegistration, error) {
	rp, err := s.passkeys()
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if name, err = checkPasskeyName("name", name); err != nil {
		return PasskeyRegistration{}, err
	}
	if len(credential) == 0 {
		return PasskeyRegistration{}, Invalid("credential", "credential is required: the JSON of PublicKeyCredential.toJSON().")
	}
	ch, err := s.consumeChallenge(ctx, challengePasskeyRegister, challengeID)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	var p registerPayload
	if err := json.Unmarshal(ch.Payload, &p); err != nil {
		return PasskeyRegistration{}, fmt.Errorf("passkey challenge %s: %w", ch.ID, err)
	}
	// A ceremony begun by a signed-in user is finished by that user only.
	if !p.Signup && (ac == nil || ac.User == nil || ac.User.ID != p.UserID) {
		return PasskeyRegistration{}, errInvalidChallenge
	}
	reg, err := rp.FinishRegistration(p.Session, credential)
	if err != nil {
		return PasskeyRegistration{}, s.passkeyRegistrationError(ctx, err)
	}
	now := s.now()
	pk := fromPasskeyCredential(reg.Credential)
	pk.ID, pk.UserID, pk.CreatedAt = secret.ID("cred_"), p.UserID, now
	if p.Signup {
		return s.signUpWithPasskey(ctx, ch.Email, pk, name, m)
	}
	if pk.Name, err = s.passkeyName(ctx, s.Store, p.UserID, name); err != nil {
		return PasskeyRegistration{}, err
	}
	if err := s.Store.CreatePasskey(ctx, pk); errors.Is(err, ErrConflict) {
		return PasskeyRegistration{}, &Error{Code: CodeInvalidRequest, Field: "credential", Message: "This passkey is already registered."}
	} else if err != nil {
		return PasskeyRegistration{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: p.UserID, OrgID: ac.Org.ID, Action: "passkey.added", Target: pk.ID, IP: m.IP, UserAgent: m.UserAgent})
	return PasskeyRegistration{Passkey: pk}, nil
}

// signUpWithPasskey creates the account, its org, the passkey and a
// session atomically.
func (s *Service) signUpWithPasskey(ctx context.Context, email string, pk PasskeyCredential, name string, m Meta) (PasskeyRegistration, error) {
	now := pk.CreatedAt
	u := User{ID: pk.UserID, Email: email, CreatedAt: now, UpdatedAt: now}
	pk.Name = defaultPasskeyName(name, 0)
	var out SignIn
	err := s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.CreateUser(ctx, u); errors.Is(err, ErrConflict) {
			return Errorf(CodeEmailTaken, "An account with this email already exists. Sign in to add a passkey.")
		} else if err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserCreated, u); err != nil {
			return err
		}
		org, err := s.createOrgWithOwner(ctx, tx, personalOrgName(u, ""), u.ID, now)
		if err != nil {
			return err
		}
		if err := tx.CreatePasskey(ctx, pk); errors.Is(err, ErrConflict) {
			return &Error{Code: CodeInvalidRequest, Field: "credential", Message: "This passkey is already registered."}
		} else if err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, u, org.ID, m, now, viaPasskey(pk.UserVerified))
		return err
	})
	if err != nil {
		return PasskeyRegistration{}, err
	}
	out.Created = true
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: out.Session.OrgID, Action: "user.registered", Target: u.ID, IP: m.IP, UserAgent: m.UserAgent, Data: json.RawMessage(`{"method":"passkey"}`)})
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: out.Session.OrgID, Action: "passkey.added", Target: pk.ID, IP: m.IP, UserAgent: m.UserAgent})
	s.track(u.ID, "signup_completed", map[string]any{"method": "passkey"})
	s.afterSignup(ctx, u)
	return PasskeyRegistration{Passkey: pk, SignIn: &out}, nil
}

// consumeChallenge redeems a ceremony's challenge: it works once, and an
// unknown, used or expired id fails with invalid_challenge.
func (s *Service) consumeChallenge(ctx context.Context, kind, id string) (Challenge, error) {
	if id == "" {
		return Challenge{}, Invalid("challenge_id", "challenge_id is required.")
	}
	c, err := s.redeemToken(ctx, s.Store, kind, id, errInvalidChallenge)
	if errors.Is(err, ErrNotFound) { // another request consumed it first
		return Challenge{}, errInvalidChallenge
	}
	return c, err
}

// passkeyRegistrationError turns a ceremony failure into the caller's error.
func (s *Service) passkeyRegistrationError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, passkey.ErrMalformedCredential):
		return &Error{Code: CodeInvalidRequest, Field: "credential", Message: "credential is not the JSON of PublicKeyCredential.toJSON()."}
	case errors.Is(err, passkey.ErrChallengeMismatch), errors.Is(err, passkey.ErrVerificationFailed):
		s.Logger.InfoContext(ctx, "passkey registration refused", "err", err)
		return errPasskeyNotValid
	}
	return err
}

// checkPasskeyName trims a passkey name and bounds it.
func checkPasskeyName(field, name string) (string, error) {
	name, err := checkName(field, name)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", Invalid(field, "The passkey name must be at most 100 characters.")
	}
	return name, nil
}

// passkeyName is the requested name, or "Passkey", "Passkey 2"… by count.
func (s *Service) passkeyName(ctx context.Context, st Store, userID, requested string) (string, error) {
	if requested != "" {
		return requested, nil
	}
	existing, err := st.PasskeysOfUser(ctx, userID)
	if err != nil {
		return "", err
	}
	return defaultPasskeyName("", len(existing)), nil
}

func defaultPasskeyName(requested string, existing int) string {
	if requested = strings.TrimSpace(requested); requested != "" {
		return requested
	}
	if existing == 0 {
		return "Passkey"
	}
	return fmt.Sprintf("Passkey %d", existing+1)
}

func toPasskeyCredentials(ps []PasskeyCredential) []passkey.Credential {
	out := make([]passkey.Credential, len(ps))
	for i, p := range ps {
		out[i] = passkey.Credential{
			ID: p.CredentialID, PublicKey: p.PublicKey, SignCount: p.SignCount, Transports: p.Transports,
			AAGUID: p.AAGUID, UserVerified: p.UserVerified, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
			AttestationType: p.AttestationType, AttestationFormat: p.AttestationFormat,
		}
	}
	return out
}

func fromPasskeyCredential(c passkey.Credential) PasskeyCredential {
	return PasskeyCredential{
		CredentialID: c.ID, PublicKey: c.PublicKey, SignCount: c.SignCount, Transports: c.Transports,
		AAGUID: c.AAGUID, UserVerified: c.UserVerified, BackupEligible: c.BackupEligible, BackupState: c.BackupState,
		AttestationType: c.AttestationType, AttestationFormat: c.AttestationFormat,
	}
}
