// Package passkey runs WebAuthn registration and sign-in ceremonies for
// passkeys on top of github.com/go-webauthn/webauthn.
//
// It knows nothing about storage: a Begin call returns the options for the
// browser and the ceremony's session data as bytes for the caller to keep
// (Latchkey keeps them in an AuthChallenge row), and a Finish call takes those
// bytes back with the credential JSON that PublicKeyCredential.toJSON()
// produced in the browser. Callers pass users and their stored credentials
// in; the package returns what to store.
package passkey

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Errors a Finish call reports. Every failure wraps exactly one of them, so
// callers choose a response with errors.Is; the wrapped detail is for logs.
var (
	// ErrInvalidSession: the stored session bytes are not a session of this
	// kind of ceremony (corrupt, or a login session given to registration).
	ErrInvalidSession = errors.New("passkey: invalid ceremony session")
	// ErrMalformedCredential: the credential JSON cannot be parsed.
	ErrMalformedCredential = errors.New("passkey: malformed credential")
	// ErrChallengeMismatch: the credential answers another ceremony's challenge.
	ErrChallengeMismatch = errors.New("passkey: credential answers another challenge")
	// ErrUnknownCredential: no stored credential matches, or it belongs to a
	// user other than the one the ceremony was begun for.
	ErrUnknownCredential = errors.New("passkey: unknown credential")
	// ErrVerificationFailed: the signature, origin, RP ID, flags or
	// attestation did not verify.
	ErrVerificationFailed = errors.New("passkey: verification failed")
	// ErrCounterWentBackwards: the authenticator's signature counter did not
	// advance past the stored one, the sign of a cloned authenticator. The
	// error is a *CounterError.
	ErrCounterWentBackwards = errors.New("passkey: signature counter went backwards")
)

// CounterError reports a login whose signature counter did not advance. The
// assertion was otherwise valid; the caller refuses it and audits the event.
type CounterError struct {
	CredentialID []byte
	UserHandle   []byte
	Stored       uint32 // the counter on record
	Received     uint32 // the counter the authenticator sent
}

func (e *CounterError) Error() string {
	return fmt.Sprintf("passkey: signature counter went backwards (stored %d, received %d): possible cloned authenticator", e.Stored, e.Received)
}

// Is makes errors.Is(err, ErrCounterWentBackwards) true.
func (e *CounterError) Is(target error) bool { return target == ErrCounterWentBackwards }

// Config describes the relying party.
type Config struct {
	// RPID is the relying party ID: a registrable domain (no scheme, no
	// port, not an IP address), e.g. "example.com" or "localhost".
	RPID string
	// RPDisplayName is shown by authenticators next to the account.
	RPDisplayName string
	// Origins are the exact origins ("https://auth.example.com") whose
	// pages may run ceremonies.
	Origins []string
	// Timeout is the ceremony timeout the browser is given; default 5 min.
	// Expiry of the stored session is the caller's business.
	Timeout time.Duration
}

// RelyingParty begins and finishes ceremonies. It is safe for concurrent use.
type RelyingParty struct {
	wa *webauthn.WebAuthn
}

// New checks cfg and returns a RelyingParty.
func New(cfg Config) (*RelyingParty, error) {
	if cfg.RPDisplayName == "" {
		return nil, errors.New("passkey: RP display name is empty")
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: no allowed origins")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if err := protocol.ValidateRPID(cfg.RPID); err != nil {
		return nil, fmt.Errorf("passkey: RP ID %q: %w", cfg.RPID, err)
	}
	timeout := webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     cfg.Origins,
		// Attestation would only prove the authenticator's make and model,
		// which Latchkey does not restrict; asking for none avoids a prompt.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
		// Browsers and password-manager extensions may return extension
		// outputs nobody asked for; none of them is read here, so they must
		// not fail a sign-in.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RelyingParty{wa: wa}, nil
}

// RPID returns the relying party ID.
func (rp *RelyingParty) RPID() string { return rp.wa.Config.RPID }

// Origins returns the origins allowed to run ceremonies.
func (rp *RelyingParty) Origins() []string { return slices.Clone(rp.wa.Config.RPOrigins) }

// User is the account a ceremony is for.
type User struct {
	// Handle is the WebAuthn user handle: opaque, 1 to 64 bytes, no personal
	// data. Authenticators return it on discoverable sign-in.
	Handle []byte
	// Name identifies the account in the authenticator's chooser (an email).
	Name string
	// DisplayName is the person's name; Name is used when it is empty.
	DisplayName string
	// Credentials are the user's stored passkeys.
	Credentials []Credential
}

// Credential is a stored passkey: what a registration yields and a login
// needs back.
type Credential struct {
	ID                []byte   // credential ID, chosen by the authenticator
	PublicKey         []byte   // COSE_Key as the authenticator encoded it
	SignCount         uint32   // last signature counter seen
	Transports        []string // "internal", "hybrid", "usb", ... as reported
	AAGUID            []byte   // authenticator model (16 bytes; zeros when withheld)
	UserVerified      bool     // the user has been verified with this credential
	BackupEligible    bool     // BE: the credential may be synced (never changes)
	BackupState       bool     // BS: the credential is currently backed up / synced
	AttestationType   string   // "none", "self", "basic_full", ...
	AttestationFormat string   // "none", "packed", ...
}

// Ceremony is the output of a Begin call.
type Ceremony struct {
	// Options is {"publicKey": {...}} in the WebAuthn JSON form taken by
	// PublicKeyCredential.parseCreationOptionsFromJSON or
	// parseRequestOptionsFromJSON (on the "publicKey" member).
	Options []byte
	// Session is what the matching Finish call needs back. The caller keeps
	// it server-side (it must not round-trip through the client) and uses it
	// once.
	Session []byte
}

// waUser adapts User to go-webauthn.
type waUser struct{ u User }

func (w waUser) WebAuthnID() []byte   { return w.u.Handle }
func (w waUser) WebAuthnName() string { return w.u.Name }
func (w waUser) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.Name
}
func (w waUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(w.u.Credentials))
	for i, c := range w.u.Credentials {
		out[i] = c.toWebAuthn()
	}
	return out
}

func (c Credential) toWebAuthn() webauthn.Credential {
	flags := protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationType:   c.AttestationType,
		AttestationFormat: c.AttestationFormat,
		Transport:         transports,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator:     webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

func fromWebAuthn(w *webauthn.Credential) Credential {
	transports := make([]string, len(w.Transport))
	for i, t := range w.Transport {
		transports[i] = string(t)
	}
	return Credential{
		ID:                w.ID,
		PublicKey:         w.PublicKey,
		SignCount:         w.Authenticator.SignCount,
		Transports:        transports,
		AAGUID:            w.Authenticator.AAGUID,
		UserVerified:      w.Flags.UserVerified,
		BackupEligible:    w.Flags.BackupEligible,
		BackupState:       w.Flags.BackupState,
		AttestationType:   w.AttestationType,
		AttestationFormat: w.AttestationFormat,
	}
}

func descriptors(creds []Credential) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(creds))
	for i, c := range creds {
		w := c.toWebAuthn()
		out[i] = w.Descriptor()
	}
	return out
}
