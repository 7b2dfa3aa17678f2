package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/passkey"
	"github.com/latchkey/latchkey/passkey/passkeytest"
)

// passkeyEnv is a server with passkeys on, its browser origin, and the
// product events it emitted.
type passkeyEnv struct {
	*latchkeytest.Env
	Origin string // http://localhost:<port>: WebAuthn needs a domain, not an IP
	Events *events
}

// events records analytics events.
type events struct {
	mu   sync.Mutex
	list []event
}

type event struct {
	DistinctID, Name string
	Props            map[string]any
}

func (e *events) Capture(distinctID, name string, props map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, event{distinctID, name, props})
}

// find returns the events named name.
func (e *events) find(name string) []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event
	for _, ev := range e.list {
		if ev.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

func newPasskeyEnv(t *testing.T, db latchkeytest.Database) *passkeyEnv {
	t.Helper()
	pe := &passkeyEnv{Events: &events{}}
	pe.Env = latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) {
		// Browsers reach the server as localhost: an IP cannot be an RP ID.
		for _, u := range []*string{&c.PublicURL, &c.DashboardURL, &c.Issuer} {
			*u = strings.Replace(*u, "127.0.0.1", "localhost", 1)
		}
	}, Service: func(s *latchkey.Service) {
		pe.Origin = s.Config.PublicURL
		rp, err := passkey.New(passkey.Config{RPID: "localhost", RPDisplayName: "Latchkey", Origins: []string{pe.Origin}})
		if err != nil {
			t.Fatal(err)
		}
		s.Passkeys = rp
		s.Analytics = pe.Events
	}})
	return pe
}

// authenticator returns a software authenticator at the server's origin.
func (pe *passkeyEnv) authenticator() *passkeytest.Authenticator {
	return passkeytest.New(pe.Origin)
}

// begin calls a begin operation and returns the challenge id and options.
func begin(t *testing.T, c *latchkeytest.Client, op string, body map[string]any) (string, []byte) {
	t.Helper()
	r := c.Call(op, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", op, r.Status, r.Body)
	}
	opts, err := json.Marshal(r.JSON["options"])
	if err != nil {
		t.Fatal(err)
	}
	if r.Str("challenge_id") == "" || !strings.HasPrefix(string(opts), `{"publicKey":{`) {
		t.Fatalf("%s returned %s", op, r.Body)
	}
	return r.Str("challenge_id"), opts
}

// finish posts a credential JSON to a finish operation.
func finish(c *latchkeytest.Client, op, challengeID string, credential []byte, extra map[string]any) *latchkeytest.Response {
	body := map[string]any{"challenge_id": challengeID, "credential": json.RawMessage(credential)}
	for k, v := range extra {
		body[k] = v
	}
	return c.Call(op, body)
}

// signUp creates an account with a passkey on a and returns the response.
func signUp(t *testing.T, c *latchkeytest.Client, a *passkeytest.Authenticator, email string) *latchkeytest.Response {
	t.Helper()
	id, opts := begin(t, c, "auth.passkey.register.begin", map[string]any{"email": email})
	cred, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := finish(c, "auth.passkey.register.finish", id, cred, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("register.finish: %d %s", r.Status, r.Body)
	}
	return r
}

// signIn signs in with a (email may be empty: discoverable) and returns
// the response, whatever its status.
func signIn(t *testing.T, c *latchkeytest.Client, a *passkeytest.Authenticator, email string) *latchkeytest.Response {
	t.Helper()
	body := map[string]any{}
	if email != "" {
		body["email"] = email
	}
	id, opts := begin(t, c, "auth.passkey.login.begin", body)
	cred, err := a.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return finish(c, "auth.passkey.login.finish", id, cred, nil)
}

// addPasskey adds a passkey on a to the signed-in user of c.
func addPasskey(t *testing.T, c *latchkeytest.Client, a *passkeytest.Authenticator, name string) *latchkeytest.Response {
	t.Helper()
	id, opts := begin(t, c, "auth.passkey.register.begin", map[string]any{})
	cred, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]any{}
	if name != "" {
		extra["name"] = name
	}
	return finish(c, "auth.passkey.register.finish", id, cred, extra)
}

func listPasskeys(t *testing.T, c *latchkeytest.Client) []map[string]any {
	t.Helper()
	r := c.Get("auth.passkey.list")
	if r.Status != http.StatusOK {
		t.Fatalf("passkey.list: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, p := range r.JSON["passkeys"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func wantError(t *testing.T, r *latchkeytest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

func auditActions(t *testing.T, env *latchkeytest.Env, userID string) []string {
	t.Helper()
	evs, err := env.Store.AuditEvents(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
