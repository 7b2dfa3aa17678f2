package passkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/passkey"
	"github.com/latchkey/latchkey/passkey/passkeytest"
)

const origin = "https://auth.example.test"

func newRP(t *testing.T) *passkey.RelyingParty {
	t.Helper()
	rp, err := passkey.New(passkey.Config{
		RPID:          "example.test",
		RPDisplayName: "Latchkey",
		Origins:       []string{origin, "https://dashboard.example.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// store is a test's record of registered users, for lookups.
type store map[string]*passkey.User

func (s store) lookup(id []byte) (passkey.User, error) {
	for _, u := range s {
		for _, c := range u.Credentials {
			if bytes.Equal(c.ID, id) {
				return *u, nil
			}
		}
	}
	return passkey.User{}, fmt.Errorf("lookup: %w", passkey.ErrUnknownCredential)
}

func (s store) update(c passkey.Credential) {
	for _, u := range s {
		for i := range u.Credentials {
			if bytes.Equal(u.Credentials[i].ID, c.ID) {
				u.Credentials[i] = c
			}
		}
	}
}

// register runs a full registration ceremony for a new user and records it.
func register(t *testing.T, rp *passkey.RelyingParty, auth *passkeytest.Authenticator, s store, handle, email string) passkey.Credential {
	t.Helper()
	u := s[handle]
	if u == nil {
		u = &passkey.User{Handle: []byte(handle), Name: email}
		s[handle] = u
	}
	c, err := rp.BeginRegistration(*u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := auth.Create(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rp.FinishRegistration(c.Session, resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if string(reg.UserHandle) != handle {
		t.Fatalf("registration for handle %q, want %q", reg.UserHandle, handle)
	}
	u.Credentials = append(u.Credentials, reg.Credential)
	return reg.Credential
}

func login(rp *passkey.RelyingParty, auth *passkeytest.Authenticator, s store, u *passkey.User) (passkey.Assertion, error) {
	var c passkey.Ceremony
	var err error
	if u == nil {
		c, err = rp.BeginDiscoverableLogin()
	} else {
		c, err = rp.BeginLogin(*u)
	}
	if err != nil {
		return passkey.Assertion{}, err
	}
	resp, err := auth.Get(c.Options)
	if err != nil {
		return passkey.Assertion{}, err
	}
	a, err := rp.FinishLogin(c.Session, resp, s.lookup)
	if err == nil {
		s.update(a.Credential)
	}
	return a, err
}

func TestRegisterThenLoginWithAllowList(t *testing.T) {
	rp := newRP(t)
	auth := passkeytest.New(origin)
	s := store{}
	cred := register(t, rp, auth, s, "usr_alice", "alice@example.test")
	if len(cred.ID) == 0 || len(cred.PublicKey) == 0 || len(cred.AAGUID) != 16 {
		t.Fatalf("stored credential lacks id, key or AAGUID: %+v", cred)
	}
	if len(cred.Transports) != 1 || cred.Transports[0] != "internal" {
		t.Errorf("transports = %v, want [internal]", cred.Transports)
	}
	if cred.AttestationFormat != "none" {
		t.Errorf("attestation format = %q, want none", cred.AttestationFormat)
	}
	if !cred.UserVerified {
		t.Error("credential created with UV is not marked user-verified")
	}

	if err := auth.SetCounter(cred.ID, 7); err != nil {
		t.Fatal(err)
	}
	a, err := login(rp, auth, s, s["usr_alice"])
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if string(a.UserHandle) != "usr_alice" || !bytes.Equal(a.Credential.ID, cred.ID) {
		t.Fatalf("login as %q with %x, want usr_alice with %x", a.UserHandle, a.Credential.ID, cred.ID)
	}
	if a.Credential.SignCount != 7 {
		t.Errorf("sign count after login = %d, want 7", a.Credential.SignCount)
	}
	if !a.UserVerified {
		t.Error("assertion with UV not reported as user-verified")
	}
}

func TestDiscoverableLogin(t *testing.T) {
	rp := newRP(t)
	auth := passkeytest.New(origin)
	s := store{}
	register(t, rp, auth, s, "usr_alice", "alice@example.test")
	bob := register(t, rp, auth, s, "usr_bob", "bob@example.test")

	c, err := rp.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		PublicKey map[string]json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(c.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if _, ok := opts.PublicKey["allowCredentials"]; ok {
		t.Errorf("discoverable options carry allowCredentials: %s", c.Options)
	}
	resp, err := auth.Get(c.Options) // picks the newest: bob's
	if err != nil {
		t.Fatal(err)
	}
	a, err := rp.FinishLogin(c.Session, resp, s.lookup)
	if err != nil {
		t.Fatalf("discoverable login: %v", err)
	}
	if string(a.UserHandle) != "usr_bob" || !bytes.Equal(a.Credential.ID, bob.ID) {
		t.Fatalf("signed in as %q, want usr_bob", a.UserHandle)
	}
}

func TestOptionsShape(t *testing.T) {
	rp := newRP(t)
	auth := passkeytest.New(origin)
	s := store{}
	cred := register(t, rp, auth, s, "usr_alice", "alice@example.test")

	reg, err := rp.BeginRegistration(*s["usr_alice"])
	if err != nil {
		t.Fatal(err)
	}
	var creation struct {
		PublicKey struct {
			RP struct {
				ID, Name string
			} `json:"rp"`
			User struct {
				ID, Name string
			} `json:"user"`
			Challenge              string `json:"challenge"`
			ExcludeCredentials     []struct{ ID string }
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(reg.Options, &creation); err != nil {
		t.Fatal(err)
	}
	pk := creation.PublicKey
	if pk.RP.ID != "example.test" || pk.RP.Name != "Latchkey" || pk.User.Name != "alice@example.test" || pk.Challenge == "" {
		t.Errorf("creation options = %s", reg.Options)
	}
	if pk.AuthenticatorSelection.ResidentKey != "preferred" || pk.AuthenticatorSelection.UserVerification != "preferred" {
		t.Errorf("authenticatorSelection = %+v, want residentKey and userVerification preferred", pk.AuthenticatorSelection)
	}
	if len(pk.ExcludeCredentials) != 1 {
		t.Errorf("excludeCredentials = %v, want the existing credential", pk.ExcludeCredentials)
	}
	if _, err := auth.Create(reg.Options); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Errorf("second passkey on the same authenticator: err = %v, want ErrExcluded", err)
	}

	for _, tc := range []struct {
		name      string
		user      passkey.User
		wantAllow int
	}{
		{"known email", *s["usr_alice"], 1},
		{"unknown email", passkey.User{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rp.BeginLogin(tc.user)
			if err != nil {
				t.Fatal(err)
			}
			var request struct {
				PublicKey struct {
					Challenge        string            `json:"challenge"`
					RPID             string            `json:"rpId"`
					UserVerification string            `json:"userVerification"`
					AllowCredentials *[]map[string]any `json:"allowCredentials"`
				} `json:"publicKey"`
			}
			if err := json.Unmarshal(c.Options, &request); err != nil {
				t.Fatal(err)
			}
			pk := request.PublicKey
			if pk.Challenge == "" || pk.RPID != "example.test" || pk.UserVerification != "preferred" {
				t.Errorf("request options = %s", c.Options)
			}
			if pk.AllowCredentials == nil || len(*pk.AllowCredentials) != tc.wantAllow {
				t.Fatalf("allowCredentials = %v, want a list of %d", pk.AllowCredentials, tc.wantAllow)
			}
			if tc.wantAllow == 1 && (*pk.AllowCredentials)[0]["id"] != b64(cred.ID) {
				t.Errorf("allowCredentials[0] = %v, want id %s", (*pk.AllowCredentials)[0], b64(cred.ID))
			}
		})
	}
}
