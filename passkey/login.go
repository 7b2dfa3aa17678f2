package passkey

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginLogin starts a sign-in for one account, listing its credentials in
// allowCredentials. For an email with no account, pass a User with no
// Handle and no credentials: the options have the same shape (an empty
// allowCredentials list) and the ceremony can never succeed.
func (rp *RelyingParty) BeginLogin(u User) (Ceremony, error) {
	handle := u.Handle
	if len(handle) == 0 {
		// A random handle that no account has, so that nothing can match.
		handle = make([]byte, 32)
		rand.Read(handle)
	}
	allow := descriptors(u.Credentials)
	// go-webauthn refuses BeginLogin for a user without credentials, so the
	// ceremony is built as a discoverable one with an allow list and then
	// bound to the user.
	assertion, data, err := rp.wa.BeginDiscoverableLogin(webauthn.WithAllowedCredentials(allow))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	data.UserID = handle
	opts, err := requestOptionsJSON(assertion, true)
	if err != nil {
		return Ceremony{}, err
	}
	sess, err := encodeSession(kindLogin, data, true)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Options: opts, Session: sess}, nil
}

// BeginDiscoverableLogin starts a sign-in where the authenticator offers the
// passkeys it holds for this relying party and the user picks one.
func (rp *RelyingParty) BeginDiscoverableLogin() (Ceremony, error) {
	assertion, data, err := rp.wa.BeginDiscoverableLogin()
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	opts, err := requestOptionsJSON(assertion, false)
	if err != nil {
		return Ceremony{}, err
	}
	sess, err := encodeSession(kindLogin, data, false)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Options: opts, Session: sess}, nil
}

// requestOptionsJSON marshals request options. go-webauthn omits an empty
// allowCredentials; a login begun for an account always carries the member,
// so that an unknown email gets the same shape as a known one.
func requestOptionsJSON(a *protocol.CredentialAssertion, withAllowList bool) ([]byte, error) {
	if !withAllowList || len(a.Response.AllowedCredentials) > 0 {
		return optionsJSON(a)
	}
	pk, err := json.Marshal(a.Response)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(pk, &members); err != nil {
		return nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	members["allowCredentials"] = json.RawMessage("[]")
	return optionsJSON(map[string]any{"publicKey": members})
}

// Assertion is the result of a finished login ceremony.
type Assertion struct {
	// UserHandle identifies the account that signed in.
	UserHandle []byte
	// Credential is the stored credential with its new signature counter and
	// flags, to write back.
	Credential Credential
	// UserVerified reports whether this ceremony verified the user (PIN,
	// biometrics), not only their presence.
	UserVerified bool
}

// LookupFunc finds the account that owns a credential ID, with all of that
// account's credentials. It returns an error wrapping ErrUnknownCredential
// when there is none; any other error is passed through to the caller.
type LookupFunc func(credentialID []byte) (User, error)

// FinishLogin verifies credentialJSON (PublicKeyCredential.toJSON() of the
// assertion) against the session of BeginLogin or BeginDiscoverableLogin.
// A valid assertion whose signature counter did not advance fails with a
// *CounterError (errors.Is ErrCounterWentBackwards).
func (rp *RelyingParty) FinishLogin(sessionBytes, credentialJSON []byte, lookup LookupFunc) (Assertion, error) {
	s, err := decodeSession(kindLogin, sessionBytes)
	if err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %w", ErrMalformedCredential, err)
	}
	if err := checkChallenge(s, parsed.Response.CollectedClientData.Challenge); err != nil {
		return Assertion{}, err
	}
	u, err := lookup(parsed.RawID)
	if err != nil {
		return Assertion{}, err
	}
	stored, ok := findCredential(u.Credentials, parsed.RawID)
	if !ok || (s.Bound && !bytes.Equal(u.Handle, s.Data.UserID)) {
		return Assertion{}, ErrUnknownCredential
	}
	var verified *webauthn.Credential
	if s.Bound {
		verified, err = rp.wa.ValidateLogin(waUser{u}, s.Data, parsed)
	} else {
		handler := func(rawID, userHandle []byte) (webauthn.User, error) { return waUser{u}, nil }
		_, verified, err = rp.wa.ValidatePasskeyLogin(handler, s.Data, parsed)
	}
	if err != nil {
		var unknown *protocol.ErrorUnknownCredential
		if errors.As(err, &unknown) {
			return Assertion{}, fmt.Errorf("%w: %w", ErrUnknownCredential, describe(err))
		}
		return Assertion{}, fmt.Errorf("%w: %w", ErrVerificationFailed, describe(err))
	}
	// go-webauthn only flags a counter that did not advance; refusing the
	// sign-in is the relying party's decision, and Latchkey refuses it.
	if verified.Authenticator.CloneWarning {
		return Assertion{}, &CounterError{
			CredentialID: stored.ID,
			UserHandle:   u.Handle,
			Stored:       stored.SignCount,
			Received:     parsed.Response.AuthenticatorData.Counter,
		}
	}
	updated := stored
	updated.SignCount = verified.Authenticator.SignCount
	updated.UserVerified = verified.Flags.UserVerified
	updated.BackupState = verified.Flags.BackupState
	return Assertion{
		UserHandle:   u.Handle,
		Credential:   updated,
		UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
	}, nil
}

func findCredential(creds []Credential, id []byte) (Credential, bool) {
	for _, c := range creds {
		if bytes.Equal(c.ID, id) {
			return c, true
		}
	}
	return Credential{}, false
}
