package passkey

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"
)

// Ceremony kinds recorded in the session so that a login session can never
// finish a registration or the reverse.
const (
	kindRegistration = "registration"
	kindLogin        = "login"
)

// session is the envelope of the bytes a Begin call hands the caller.
type session struct {
	Kind string               `json:"kind"`
	Data webauthn.SessionData `json:"data"`
	// Bound is true for a login begun for one user (with an email): the
	// credential must then belong to that user.
	Bound bool `json:"bound,omitempty"`
}

func encodeSession(kind string, data *webauthn.SessionData, bound bool) ([]byte, error) {
	b, err := json.Marshal(session{Kind: kind, Data: *data, Bound: bound})
	if err != nil {
		return nil, fmt.Errorf("passkey: encode session: %w", err)
	}
	return b, nil
}

func decodeSession(kind string, b []byte) (session, error) {
	var s session
	if err := json.Unmarshal(b, &s); err != nil {
		return session{}, fmt.Errorf("%w: %w", ErrInvalidSession, err)
	}
	if s.Kind != kind || s.Data.Challenge == "" {
		return session{}, fmt.Errorf("%w: not a %s session", ErrInvalidSession, kind)
	}
	return s, nil
}

// checkChallenge compares the challenge the client signed with the one the
// ceremony issued. go-webauthn checks it too; doing it first gives the caller
// a distinct error for a response to another ceremony.
func checkChallenge(s session, got string) error {
	if subtle.ConstantTimeCompare([]byte(s.Data.Challenge), []byte(got)) != 1 {
		return ErrChallengeMismatch
	}
	return nil
}

// optionsJSON marshals creation or request options ({"publicKey": {...}}).
func optionsJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	return b, nil
}
