package passkey

import (
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginRegistration starts creating a passkey for u. u.Handle must be 1 to
// 64 bytes; u.Credentials are listed in excludeCredentials so that an
// authenticator already holding one of them does not create a second.
func (rp *RelyingParty) BeginRegistration(u User) (Ceremony, error) {
	if len(u.Handle) == 0 || len(u.Handle) > 64 {
		return Ceremony{}, fmt.Errorf("passkey: user handle must be 1 to 64 bytes, got %d", len(u.Handle))
	}
	creation, data, err := rp.wa.BeginRegistration(waUser{u},
		webauthn.WithExclusions(descriptors(u.Credentials)))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	opts, err := optionsJSON(creation)
	if err != nil {
		return Ceremony{}, err
	}
	sess, err := encodeSession(kindRegistration, data, false)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Options: opts, Session: sess}, nil
}

// Registration is the result of a finished registration ceremony.
type Registration struct {
	UserHandle []byte     // the handle the ceremony was begun for
	Credential Credential // to store
}

// FinishRegistration verifies credentialJSON (PublicKeyCredential.toJSON()
// of the created credential) against the session of BeginRegistration and
// returns the credential to store.
func (rp *RelyingParty) FinishRegistration(sessionBytes, credentialJSON []byte) (Registration, error) {
	s, err := decodeSession(kindRegistration, sessionBytes)
	if err != nil {
		return Registration{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	if err != nil {
		return Registration{}, fmt.Errorf("%w: %w", ErrMalformedCredential, err)
	}
	if err := checkChallenge(s, parsed.Response.CollectedClientData.Challenge); err != nil {
		return Registration{}, err
	}
	u := waUser{User{Handle: s.Data.UserID}}
	cred, err := rp.wa.CreateCredential(u, s.Data, parsed)
	if err != nil {
		return Registration{}, fmt.Errorf("%w: %w", ErrVerificationFailed, describe(err))
	}
	return Registration{UserHandle: s.Data.UserID, Credential: fromWebAuthn(cred)}, nil
}

// describe adds go-webauthn's developer detail, which its Error() omits, so
// that logs say why a ceremony failed.
func describe(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w (%s)", err, pe.DevInfo)
	}
	return err
}
