package passkey_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/passkey"
	"github.com/latchkey/latchkey/passkey/passkeytest"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestWrongOrigin(t *testing.T) {
	rp := newRP(t)
	s := store{}
	good := passkeytest.New(origin)
	cred := register(t, rp, good, s, "usr_alice", "alice@example.test")
	_ = cred

	t.Run("registration", func(t *testing.T) {
		evil := passkeytest.New("https://evil.example")
		c, err := rp.BeginRegistration(passkey.User{Handle: []byte("usr_bob"), Name: "bob@example.test"})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := evil.Create(c.Options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rp.FinishRegistration(c.Session, resp); !errors.Is(err, passkey.ErrVerificationFailed) {
			t.Fatalf("registration from another origin: err = %v, want ErrVerificationFailed", err)
		}
	})
	t.Run("login", func(t *testing.T) {
		good.SetOrigin("https://auth.example.test.evil.example")
		defer good.SetOrigin(origin)
		if _, err := login(rp, good, s, s["usr_alice"]); !errors.Is(err, passkey.ErrVerificationFailed) {
			t.Fatalf("login from another origin: err = %v, want ErrVerificationFailed", err)
		}
	})
	t.Run("second configured origin", func(t *testing.T) {
		good.SetOrigin("https://dashboard.example.test")
		defer good.SetOrigin(origin)
		if _, err := login(rp, good, s, nil); err != nil {
			t.Fatalf("login from the dashboard origin: %v", err)
		}
	})
}

func TestChallengeMismatch(t *testing.T) {
	rp := newRP(t)
	auth := passkeytest.New(origin)
	s := store{}
	register(t, rp, auth, s, "usr_alice", "alice@example.test")

	first, err := rp.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := auth.Get(first.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.FinishLogin(first.Session, resp, s.lookup); err != nil {
		t.Fatalf("first use: %v", err)
	}
	// Replaying the same response against a new ceremony fails: it signed
	// the old challenge.
	second, err := rp.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.FinishLogin(second.Session, resp, s.lookup); !errors.Is(err, passkey.ErrChallengeMismatch) {
		t.Fatalf("replayed assertion: err = %v, want ErrChallengeMismatch", err)
	}

	// The same for registration.
	u := passkey.User{Handle: []byte("usr_bob"), Name: "bob@example.test"}
	a, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	created, err := passkeytest.New(origin).Create(a.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.FinishRegistration(b.Session, created); !errors.Is(err, passkey.ErrChallengeMismatch) {
		t.Fatalf("registration answering another challenge: err = %v, want ErrChallengeMismatch", err)
	}
}

func TestCounter(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, next uint32
		wantRefused bool
	}{
		{"advances", 5, 6, false},
		{"always zero (synced passkeys)", 0, 0, false},
		{"goes backwards", 5, 3, true},
		{"stays equal", 5, 5, true},
		{"drops to zero", 5, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := newRP(t)
			auth := passkeytest.New(origin)
			s := store{}
			cred := register(t, rp, auth, s, "usr_alice", "alice@example.test")
			if err := auth.SetCounter(cred.ID, tc.first); err != nil {
				t.Fatal(err)
			}
			if _, err := login(rp, auth, s, s["usr_alice"]); err != nil {
				t.Fatalf("first login: %v", err)
			}
			if err := auth.SetCounter(cred.ID, tc.next); err != nil {
				t.Fatal(err)
			}
			a, err := login(rp, auth, s, s["usr_alice"])
			if !tc.wantRefused {
				if err != nil {
					t.Fatalf("second login: %v", err)
				}
				if a.Credential.SignCount != tc.next {
					t.Errorf("sign count = %d, want %d", a.Credential.SignCount, tc.next)
				}
				return
			}
			if !errors.Is(err, passkey.ErrCounterWentBackwards) {
				t.Fatalf("second login: err = %v, want ErrCounterWentBackwards", err)
			}
			var ce *passkey.CounterError
			if !errors.As(err, &ce) || ce.Stored != tc.first || ce.Received != tc.next || string(ce.UserHandle) != "usr_alice" {
				t.Errorf("counter error = %+v, want stored %d received %d for usr_alice", ce, tc.first, tc.next)
			}
			if got := s["usr_alice"].Credentials[0].SignCount; got != tc.first {
				t.Errorf("stored count changed to %d by a refused login", got)
			}
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	rp := newRP(t)
	auth := passkeytest.New(origin)
	s := store{}
	register(t, rp, auth, s, "usr_alice", "alice@example.test")
	register(t, rp, passkeytest.New(origin), s, "usr_bob", "bob@example.test")

	t.Run("unknown email", func(t *testing.T) {
		// Empty allowCredentials: the authenticator offers alice's passkey,
		// which must not sign anyone in for an email with no account.
		if _, err := login(rp, auth, s, &passkey.User{}); !errors.Is(err, passkey.ErrUnknownCredential) {
			t.Fatalf("err = %v, want ErrUnknownCredential", err)
		}
	})
	t.Run("another user's credential", func(t *testing.T) {
		c, err := rp.BeginLogin(passkey.User{Handle: s["usr_bob"].Handle})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := auth.Get(c.Options) // alice's passkey, discoverable
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rp.FinishLogin(c.Session, resp, s.lookup); !errors.Is(err, passkey.ErrUnknownCredential) {
			t.Fatalf("err = %v, want ErrUnknownCredential", err)
		}
	})
	t.Run("credential not on record", func(t *testing.T) {
		stranger := passkeytest.New(origin)
		if _, err := stranger.Create(mustBegin(t, rp)); err != nil {
			t.Fatal(err)
		}
		if _, err := login(rp, stranger, s, nil); !errors.Is(err, passkey.ErrUnknownCredential) {
			t.Fatalf("err = %v, want ErrUnknownCredential", err)
		}
	})
	t.Run("session of the other ceremony", func(t *testing.T) {
		c, err := rp.BeginDiscoverableLogin()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := auth.Get(c.Options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rp.FinishRegistration(c.Session, resp); !errors.Is(err, passkey.ErrInvalidSession) {
			t.Fatalf("login session to FinishRegistration: err = %v, want ErrInvalidSession", err)
		}
	})
	t.Run("malformed credential", func(t *testing.T) {
		c, err := rp.BeginDiscoverableLogin()
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{``, `{}`, `[]`, `{"id":"!!","rawId":"!!","type":"public-key","response":{}}`, `null`} {
			if _, err := rp.FinishLogin(c.Session, []byte(body), s.lookup); !errors.Is(err, passkey.ErrMalformedCredential) {
				t.Errorf("body %q: err = %v, want ErrMalformedCredential", body, err)
			}
		}
	})
	t.Run("corrupt session", func(t *testing.T) {
		if _, err := rp.FinishLogin([]byte("{"), []byte(`{}`), s.lookup); !errors.Is(err, passkey.ErrInvalidSession) {
			t.Fatalf("err = %v, want ErrInvalidSession", err)
		}
	})
}

func mustBegin(t *testing.T, rp *passkey.RelyingParty) []byte {
	t.Helper()
	c, err := rp.BeginRegistration(passkey.User{Handle: []byte("usr_stranger"), Name: "s@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Options
}

func TestBackupFlags(t *testing.T) {
	rp := newRP(t)
	auth := passkeytest.New(origin)
	auth.SetBackup(true, true)
	s := store{}
	cred := register(t, rp, auth, s, "usr_alice", "alice@example.test")
	if !cred.BackupEligible || !cred.BackupState {
		t.Fatalf("synced passkey stored with BE=%v BS=%v, want both true", cred.BackupEligible, cred.BackupState)
	}
	a, err := login(rp, auth, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Credential.BackupEligible || !a.Credential.BackupState {
		t.Errorf("after login BE=%v BS=%v, want both true", a.Credential.BackupEligible, a.Credential.BackupState)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  passkey.Config
	}{
		{"IP address as RP ID", passkey.Config{RPID: "127.0.0.1", RPDisplayName: "x", Origins: []string{"http://127.0.0.1:8080"}}},
		{"RP ID with port", passkey.Config{RPID: "localhost:8080", RPDisplayName: "x", Origins: []string{"http://localhost:8080"}}},
		{"no origins", passkey.Config{RPID: "localhost", RPDisplayName: "x"}},
		{"no display name", passkey.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := passkey.New(tc.cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
