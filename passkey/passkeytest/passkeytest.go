// Package passkeytest provides a software WebAuthn authenticator for tests.
//
// It stands in for a browser and its authenticator together: it answers the
// creation and request options a relying party sends ({"publicKey": {...}}
// or the bare member) with the JSON that PublicKeyCredential.toJSON() gives
// in a browser, ready to post back. Signatures and attested data come from
// github.com/descope/virtualwebauthn.
//
// Unlike a hardware key, the signature counter never moves by itself: tests
// set it with SetCounter, so a counter that goes backwards is one line.
package passkeytest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/descope/virtualwebauthn"
)

// Errors the authenticator reports where a browser would reject the call.
var (
	// ErrExcluded: the options exclude a credential this authenticator holds
	// (a browser's InvalidStateError).
	ErrExcluded = errors.New("passkeytest: authenticator already holds an excluded credential")
	// ErrNoCredential: no credential matches the request (a browser's
	// NotAllowedError).
	ErrNoCredential = errors.New("passkeytest: no matching credential")
)

// Authenticator is a platform authenticator holding discoverable
// credentials. It is safe for concurrent use.
type Authenticator struct {
	mu     sync.Mutex
	origin string
	aaguid [16]byte
	creds  []*credential
	// flags given to credentials created from now on
	backupEligible, backupState bool
	userNotVerified             bool
}

type credential struct {
	vc             virtualwebauthn.Credential
	rpID           string
	userHandle     []byte
	backupEligible bool
	backupState    bool
}

// Credential describes a credential the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Counter    uint32
}

// New returns an empty authenticator whose browser runs at origin
// ("http://localhost:8080"): the origin goes into every clientDataJSON.
func New(origin string) *Authenticator {
	a := &Authenticator{origin: origin}
	rand.Read(a.aaguid[:])
	return a
}

// SetOrigin changes the origin the next responses claim, to play a page on
// another site.
func (a *Authenticator) SetOrigin(origin string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.origin = origin
}

// SetBackup sets the backup eligibility (BE) and state (BS) flags of
// credentials created from now on, as a synced passkey provider would.
func (a *Authenticator) SetBackup(eligible, state bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.backupEligible, a.backupState = eligible, state
}

// SetUserVerified sets whether responses report user verification (UV);
// true at first.
func (a *Authenticator) SetUserVerified(v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.userNotVerified = !v
}

// SetCounter sets the signature counter a credential reports from now on.
func (a *Authenticator) SetCounter(credentialID []byte, n uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.find(credentialID)
	if c == nil {
		return ErrNoCredential
	}
	c.vc.Counter = n
	return nil
}

// Forget removes a credential, as when a person deletes a passkey from
// their device.
func (a *Authenticator) Forget(credentialID []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, c := range a.creds {
		if bytes.Equal(c.vc.ID, credentialID) {
			a.creds = append(a.creds[:i], a.creds[i+1:]...)
			return
		}
	}
}

// Credentials lists the credentials held, oldest first.
func (a *Authenticator) Credentials() []Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Credential, len(a.creds))
	for i, c := range a.creds {
		out[i] = Credential{
			ID:         bytes.Clone(c.vc.ID),
			RPID:       c.rpID,
			UserHandle: bytes.Clone(c.userHandle),
			Counter:    c.vc.Counter,
		}
	}
	return out
}

func (a *Authenticator) find(id []byte) *credential {
	for _, c := range a.creds {
		if bytes.Equal(c.vc.ID, id) {
			return c
		}
	}
	return nil
}

// unwrapOptions accepts {"publicKey": {...}} or the bare member and returns
// the member.
func unwrapOptions(options []byte) ([]byte, error) {
	var outer struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &outer); err != nil {
		return nil, fmt.Errorf("passkeytest: options: %w", err)
	}
	if len(outer.PublicKey) > 0 {
		return outer.PublicKey, nil
	}
	return options, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
