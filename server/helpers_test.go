package server_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for fixtures written in SQL
	_ "modernc.org/sqlite"             // the "sqlite" driver, likewise

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/secret"
)

const pw = "correct horse battery"

// each runs fn on a fresh server per database.
func each(t *testing.T, opts latchkeytest.Options, fn func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database)) {
	t.Helper()
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		o := opts
		o.Database = db
		fn(t, latchkeytest.New(t, o), db)
	})
}

// wantError checks a failure: its status, its code, the envelope's
// message and request_id, and that request_id is the X-Request-Id header.
func expectError(t *testing.T, what string, r *latchkeytest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
	checkEnvelope(t, what, r)
}

func checkEnvelope(t *testing.T, what string, r *latchkeytest.Response) {
	t.Helper()
	e, ok := r.JSON["error"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no error envelope in %d %q", what, r.Status, r.Body)
	}
	msg, _ := e["message"].(string)
	id, _ := e["request_id"].(string)
	code, _ := e["code"].(string)
	if msg == "" || code == "" || id == "" || id != r.Header.Get("X-Request-Id") {
		t.Fatalf("%s: envelope %s with X-Request-Id %q", what, r.Body, r.Header.Get("X-Request-Id"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: error Content-Type %q", what, ct)
	}
}

// field returns error.field of an envelope, and whether it is present.
func field(r *latchkeytest.Response) (string, bool) {
	e, _ := r.JSON["error"].(map[string]any)
	f, ok := e["field"].(string)
	return f, ok
}

func wantField(t *testing.T, what string, r *latchkeytest.Response, want string) {
	t.Helper()
	expectError(t, what, r, http.StatusBadRequest, "invalid_request")
	if f, _ := field(r); f != want {
		t.Fatalf("%s: error.field = %q, want %q (%s)", what, f, want, r.Body)
	}
}

func wantOK(t *testing.T, what string, r *latchkeytest.Response) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: got %d %s, want 200", what, r.Status, r.Body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%s: no X-Request-Id", what)
	}
}

// bearer returns a cookie-less client that sends token as a bearer.
func bearer(t *testing.T, env *latchkeytest.Env, token string) *latchkeytest.Client {
	c := env.Client(t)
	c.Bearer = token
	return c
}

// login signs in on a fresh client and returns it with the response.
func login(t *testing.T, env *latchkeytest.Env, email, password string) (*latchkeytest.Client, *latchkeytest.Response) {
	t.Helper()
	c := env.Client(t)
	r := c.Call("auth.login", map[string]any{"email": email, "password": password})
	wantOK(t, "login "+email, r)
	return c, r
}

// meStatus is the status of auth.me with a bearer token.
func meStatus(t *testing.T, env *latchkeytest.Env, token string) *latchkeytest.Response {
	t.Helper()
	return bearer(t, env, token).Get("auth.me")
}

func wantTokenWorks(t *testing.T, env *latchkeytest.Env, what, token string) {
	t.Helper()
	wantOK(t, what, meStatus(t, env, token))
}

func wantTokenDead(t *testing.T, env *latchkeytest.Env, what, token string) {
	t.Helper()
	expectError(t, what, meStatus(t, env, token), http.StatusUnauthorized, "invalid_token")
}

// user reads a user by email from the store.
func user(t *testing.T, env *latchkeytest.Env, email string) latchkey.User {
	t.Helper()
	u, err := env.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// dropPassword turns a registered user into one without a password
// (as after a passkey or OAuth signup), keeping their sessions.
func dropPassword(t *testing.T, env *latchkeytest.Env, email string) {
	t.Helper()
	u := user(t, env, email)
	u.PasswordHash = ""
	if err := env.Store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}

// addMember makes the user a member of org with role.
func addMember(t *testing.T, env *latchkeytest.Env, userID, orgID string, role latchkey.Role) {
	t.Helper()
	m := latchkey.Membership{UserID: userID, OrgID: orgID, Role: role, CreatedAt: env.Service.Now()}
	if err := env.Store.CreateMembership(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// newOrg creates an org with nobody in it.
func newOrg(t *testing.T, env *latchkeytest.Env, name string) latchkey.Org {
	t.Helper()
	o := latchkey.Org{ID: secret.ID("org_"), Name: name, Slug: strings.ToLower(name) + "-" + secret.ID("")[:6], CreatedAt: env.Service.Now()}
	if err := env.Store.CreateOrg(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// linkOAuth inserts an OAuth identity row with SQL: the store gets its
// OAuth methods with issue 5, and these tests only need the row.
func linkOAuth(t *testing.T, db latchkeytest.Database, userID, provider string) {
	t.Helper()
	_, err := rawDB(t, db).Exec(`INSERT INTO oauth_identities (id, user_id, provider, subject, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		secret.ID("oid_"), userID, provider, secret.ID(""), "x@example.com", time.Now().UnixMicro())
	if err != nil {
		t.Fatal(err)
	}
}

// send does a raw request outside the test goroutine's helpers (safe in
// goroutines) and returns the status, Set-Cookie headers and body.
func send(req *http.Request) (int, []*http.Cookie, []byte, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Cookies(), body, err
}

// parsedSetCookie parses the Set-Cookie header for name, with every attribute.
func parsedSetCookie(t *testing.T, r *latchkeytest.Response, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == name {
			return ck
		}
	}
	t.Fatalf("no Set-Cookie for %s in %v", name, r.Header.Values("Set-Cookie"))
	return nil
}

// refreshWith POSTs auth.refresh with only the given refresh token cookie.
func refreshWith(t *testing.T, env *latchkeytest.Env, token string) *latchkeytest.Response {
	t.Helper()
	return env.Client(t).Do(http.MethodPost, "/v1/auth.refresh", nil, http.Header{"Cookie": {"latchkey_refresh=" + token}})
}

// rawDB opens the test's database with plain SQL, as an outsider would;
// it closes with the test.
func rawDB(t *testing.T, db latchkeytest.Database) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", db.URL
	if db.Name == "sqlite" {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(db.URL, "sqlite://")+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
