package server_test

import (
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		public string // "" keeps the test server's http URL
		secure bool
	}{
		{"http public URL", "", false},
		{"https public URL", "https://auth.example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := latchkeytest.Options{}
			if tc.public != "" {
				opts.Configure = func(c *latchkey.Config) { c.PublicURL, c.Issuer = tc.public, tc.public }
			}
			env := latchkeytest.New(t, opts)
			c := env.Client(t)
			reg := c.Call("auth.register", map[string]any{"email": "ada@example.com", "password": pw})
			wantOK(t, "register", reg)
			login := env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com", "password": pw})
			refresh := refreshWith(t, env, reg.Str("refresh_token"))
			out := bearer(t, env, login.Str("access_token")).Call("auth.logout", map[string]any{})
			for name, r := range map[string]*latchkeytest.Response{"register": reg, "login": login, "refresh": refresh, "logout": out} {
				wantOK(t, name, r)
				access, ref := parsedSetCookie(t, r, "latchkey_access"), parsedSetCookie(t, r, "latchkey_refresh")
				check := func(ck *http.Cookie, path string, same http.SameSite, sameName string) {
					if !ck.HttpOnly || ck.SameSite != same || ck.Path != path || ck.Secure != tc.secure || ck.Domain != "" ||
						!strings.Contains(ck.Raw, "SameSite="+sameName) {
						t.Errorf("%s: %s cookie %q, want HttpOnly; SameSite=%s; Path=%s; Secure=%v", name, ck.Name, ck.Raw, sameName, path, tc.secure)
					}
					if name != "logout" && (ck.Value == "" || ck.MaxAge <= 0) {
						t.Errorf("%s: %s cookie not set: %q", name, ck.Name, ck.Raw)
					}
				}
				check(access, "/", http.SameSiteLaxMode, "Lax")
				check(ref, "/v1/auth.refresh", http.SameSiteStrictMode, "Strict")
				if name == "logout" {
					checkCleared(t, r)
				}
				if name != "logout" && access.MaxAge != 900 {
					t.Errorf("%s: access cookie Max-Age %d, want the token's 900 s", name, access.MaxAge)
				}
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	const dashboard, extra = "https://dash.example.com", "https://app.example.org"
	opts := latchkeytest.Options{
		Configure: func(c *latchkey.Config) { c.DashboardURL = dashboard + "/home" },
		Server:    func(c *server.Config) { c.CORSOrigins = []string{extra}; c.DashboardURL = dashboard + "/home" },
	}
	each(t, opts, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		body := `{"session_id": "ses_nope"}`
		post := func(op string, h http.Header) *latchkeytest.Response {
			return c.Do(http.MethodPost, "/v1/"+op, body, h)
		}
		for _, tc := range []struct {
			name   string
			header http.Header
		}{
			{"text/plain", http.Header{"Content-Type": {"text/plain"}}},
			{"form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}},
			{"multipart", http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}},
			{"no content type", http.Header{"Content-Type": nil}},
			{"foreign origin", http.Header{"Origin": {"https://evil.example"}}},
			{"null origin", http.Header{"Origin": {"null"}}},
			{"look-alike origin", http.Header{"Origin": {env.URL + ".evil.example"}}},
			{"other scheme", http.Header{"Origin": {strings.Replace(env.URL, "http:", "https:", 1)}}},
		} {
			expectError(t, tc.name, post("auth.sessions.revoke", tc.header), 403, "csrf_rejected")
			expectError(t, tc.name+" on logout", c.Do(http.MethodPost, "/v1/auth.logout", `{}`, tc.header), 403, "csrf_rejected")
			expectError(t, tc.name+" on password change", c.Do(http.MethodPost, "/v1/auth.password.change", `{"current_password":"x","new_password":"y"}`, tc.header), 403, "csrf_rejected")
		}
		wantOK(t, "still signed in after rejected requests", c.Get("auth.me"))
		for _, origin := range []string{env.URL, dashboard, extra, strings.ToUpper(extra)} {
			r := post("auth.sessions.revoke", http.Header{"Origin": {origin}})
			expectError(t, "allowed origin "+origin, r, 404, "not_found") // past CSRF, into the flow
			if r.Header.Get("Access-Control-Allow-Origin") != origin || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("origin %s: CORS headers %v", origin, r.Header)
			}
		}
		expectError(t, "application/json; charset=utf-8", post("auth.sessions.revoke", http.Header{"Content-Type": {"application/json; charset=utf-8"}}), 404, "not_found")
		// Bearer-authenticated requests carry no ambient credential: no CSRF rule.
		tok := c.Call("auth.refresh", nil).Cookie("latchkey_access").Value
		b := bearer(t, env, tok)
		expectError(t, "bearer with text/plain", b.Do(http.MethodPost, "/v1/auth.sessions.revoke", body, http.Header{"Content-Type": {"text/plain"}}), 404, "not_found")
		// Reads by cookie are not state-changing.
		r := c.Do(http.MethodGet, "/v1/auth.me", nil, http.Header{"Origin": {"https://evil.example"}})
		wantOK(t, "GET me from a foreign origin", r)
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("a foreign origin got CORS headers: %v", r.Header)
		}
		// auth.refresh: its cookie is SameSite=Strict, but the rule still applies.
		rc := c.Do(http.MethodPost, "/v1/auth.refresh", nil, http.Header{"Origin": {"https://evil.example"}})
		expectError(t, "refresh from a foreign origin", rc, 403, "csrf_rejected")
		rc = c.Do(http.MethodPost, "/v1/auth.refresh", "x", http.Header{"Content-Type": {"text/plain"}})
		expectError(t, "refresh with text/plain", rc, 403, "csrf_rejected")
		wantOK(t, "refresh from the dashboard", c.Do(http.MethodPost, "/v1/auth.refresh", nil, http.Header{"Origin": {dashboard}}))
	})
}

// TestLoginCSRF: a foreign site cannot sign its visitor in to an account
// of its choosing: anonymous POSTs from a foreign Origin are refused too.
func TestLoginCSRF(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{Server: func(c *server.Config) { c.CORSOrigins = []string{"https://app.example.org"} }})
	env.Client(t).Register("attacker@example.com", pw)
	// What a cross-site form with enctype=text/plain can send.
	form := `{"email": "attacker@example.com", "password": "` + pw + `"}`
	for _, op := range []string{"auth.login", "auth.login_or_register", "auth.register"} {
		r := env.Client(t).Do(http.MethodPost, "/v1/"+op, form, http.Header{"Origin": {"https://evil.example"}, "Content-Type": {"text/plain"}})
		expectError(t, op+" from a foreign origin", r, 403, "csrf_rejected")
		if len(r.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s: cookies set for a foreign origin", op)
		}
	}
	for _, origin := range []string{"", env.URL, "https://app.example.org"} {
		wantOK(t, "login from origin "+origin, env.Client(t).Do(http.MethodPost, "/v1/auth.login", form, http.Header{"Origin": {origin}}))
	}
	wantOK(t, "GET from a foreign origin", env.Client(t).Do(http.MethodGet, "/v1/auth.providers", nil, http.Header{"Origin": {"https://evil.example"}}))
}

func TestCORS(t *testing.T) {
	const extra = "https://app.example.org"
	env := latchkeytest.New(t, latchkeytest.Options{Server: func(c *server.Config) { c.CORSOrigins = []string{extra} }})
	c := env.Client(t)
	preflight := func(origin string) *latchkeytest.Response {
		return c.Do(http.MethodOptions, "/v1/auth.login", nil, http.Header{
			"Origin": {origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"},
		})
	}
	r := preflight(extra)
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != extra ||
		r.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")), "content-type") || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("preflight from an allowed origin: %d %v", r.Status, r.Header)
	}
	r = preflight("https://evil.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Credentials") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from a foreign origin got CORS headers: %v", r.Header)
	}
	r = c.Do(http.MethodPost, "/v1/auth.login", map[string]any{"email": "a@example.com", "password": pw}, http.Header{"Origin": {extra}})
	if r.Header.Get("Access-Control-Allow-Origin") != extra || !slices.Contains(r.Header.Values("Vary"), "Origin") {
		t.Errorf("an error response to an allowed origin lacks CORS headers: %v", r.Header)
	}
}

func TestRateLimits(t *testing.T) {
	opts := latchkeytest.Options{Configure: func(c *latchkey.Config) { c.RateLimits = true }}
	each(t, opts, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		env.Client(t).Register("ada@example.com", pw)
		attempt := func(email, password string) *latchkeytest.Response {
			return env.Client(t).Call("auth.login", map[string]any{"email": email, "password": password})
		}
		// By account: guesses at one address run out before the IP's budget.
		var r *latchkeytest.Response
		n := 0
		for n = 1; n <= 50; n++ {
			if r = attempt("ada@example.com", "wrong guess!"); r.Status == http.StatusTooManyRequests {
				break
			}
			expectError(t, "guess", r, 401, "invalid_credentials")
		}
		expectError(t, "account limit", r, 429, "rate_limited")
		if n < 5 || n > 21 {
			t.Errorf("limited after %d guesses at one account", n)
		}
		checkRetryAfter(t, r)
		// Even the right password waits now: the limit is on attempts.
		expectError(t, "right password while limited", attempt("ada@example.com", pw), 429, "rate_limited")

		// By IP: spreading guesses over many addresses is limited too.
		for n = 1; n <= 60; n++ {
			if r = attempt("user"+strconv.Itoa(n)+"@example.com", "wrong guess!"); r.Status == http.StatusTooManyRequests {
				break
			}
		}
		expectError(t, "IP limit", r, 429, "rate_limited")
		if n > 25 {
			t.Errorf("limited by IP only after %d more attempts", n)
		}
		checkRetryAfter(t, r)
		// Time refills the buckets.
		env.Clock.Advance(10 * time.Minute)
		login(t, env, "ada@example.com", pw)
	})
}

// TestRateLimitsSignedIn: guessing the current password through a session
// (password change, account deletion) shares the account's login budget.
func TestRateLimitsSignedIn(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{Configure: func(c *latchkey.Config) { c.RateLimits = true }})
	c := env.Client(t)
	c.Register("ada@example.com", pw)
	var r *latchkeytest.Response
	n := 0
	for n = 1; n <= 30; n++ {
		op, body := "auth.password.change", map[string]any{"current_password": "guess " + strconv.Itoa(n), "new_password": "another good one"}
		if n%2 == 0 {
			op, body = "auth.account.delete", map[string]any{"password": "guess " + strconv.Itoa(n)}
		}
		if r = c.Call(op, body); r.Status == http.StatusTooManyRequests {
			break
		}
		expectError(t, "guess", r, 401, "invalid_credentials")
	}
	expectError(t, "guessing through the session", r, 429, "rate_limited")
	if n > 11 {
		t.Errorf("limited only after %d guesses", n)
	}
	checkRetryAfter(t, r)
	expectError(t, "login while the account is limited", env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com", "password": pw}), 429, "rate_limited")
}

func checkRetryAfter(t *testing.T, r *latchkeytest.Response) {
	t.Helper()
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s < 1 || s > 3600 {
		t.Errorf("Retry-After %q, want whole seconds", r.Header.Get("Retry-After"))
	}
}

func TestMethodsAndRouting(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/v1/auth.login", 405, "method_not_allowed", "POST"},
		{http.MethodPut, "/v1/auth.login", 405, "method_not_allowed", "POST"},
		{http.MethodDelete, "/v1/auth.logout", 405, "method_not_allowed", "POST"},
		{http.MethodGet, "/v1/auth.register", 405, "method_not_allowed", "POST"},
		{http.MethodPut, "/v1/auth.me", 405, "method_not_allowed", "GET, POST"},
		{http.MethodPatch, "/v1/auth.providers", 405, "method_not_allowed", "GET, POST"},
		{http.MethodDelete, "/v1/auth.sessions.list", 405, "method_not_allowed", "GET, POST"},
		{http.MethodPost, "/v1/auth.nope", 404, "not_found", ""},
		{http.MethodGet, "/v1/auth.nope", 404, "not_found", ""},
		{http.MethodPost, "/v1/" + strings.Repeat("a", 500), 404, "not_found", ""},
		{http.MethodGet, "/nothing/here", 404, "not_found", ""},
		{http.MethodPost, "/v1/", 404, "not_found", ""},
		{http.MethodPost, "/v1/auth.me/extra", 404, "not_found", ""},
	} {
		r := c.Do(tc.method, tc.path, nil, nil)
		what := tc.method + " " + tc.path[:min(len(tc.path), 30)]
		expectError(t, what, r, tc.status, tc.code)
		if r.Header.Get("Allow") != tc.allow {
			t.Errorf("%s: Allow %q, want %q", what, r.Header.Get("Allow"), tc.allow)
		}
	}
	// Request ids: on every response, distinct, and in the envelope.
	seen := map[string]bool{}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/v1/openapi.json", "/v1/auth.providers", "/v1/auth.me", "/x"} {
		r := c.Do(http.MethodGet, path, nil, nil)
		id := r.Header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Errorf("%s: X-Request-Id %q (seen before: %v)", path, id, seen[id])
		}
		seen[id] = true
	}
}

func TestBodyLimit(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	big := `{"email": "a@example.com", "password": "` + strings.Repeat("x", 64<<10) + `"}`
	expectError(t, "over 64 KiB", c.Call("auth.login", big), 413, "request_too_large")
	expectError(t, "over 64 KiB to a read op", c.Call("auth.providers", big), 413, "request_too_large")
	// Exactly 64 KiB is read (and then judged on its content).
	exact := `{"email": "a@example.com", "password": "wrong guess!"}`
	exact += strings.Repeat(" ", 64<<10-len(exact))
	expectError(t, "exactly 64 KiB", c.Call("auth.login", exact), 401, "invalid_credentials")
}

func TestHealthAndMetrics(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	wantOK(t, "healthz", c.Do(http.MethodGet, "/healthz", nil, nil))
	wantOK(t, "readyz", c.Do(http.MethodGet, "/readyz", nil, nil))
	c.Get("auth.me")
	c.Get("auth.providers")
	m := c.Do(http.MethodGet, "/metrics", nil, nil)
	wantOK(t, "metrics", m)
	for _, want := range []string{
		`latchkey_requests_total{operation="auth.me",status="401"} 1`,
		`latchkey_requests_total{operation="auth.providers",status="200"} 1`,
		`latchkey_request_duration_seconds_bucket{operation="auth.me"`,
	} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	env.DB.Close()
	if r := c.Do(http.MethodGet, "/readyz", nil, nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed: %d", r.Status)
	}
	wantOK(t, "healthz with the database closed", c.Do(http.MethodGet, "/healthz", nil, nil))
}

// TestJWKS verifies an access token with go-jose, an implementation
// independent of the server's, from the published key set alone.
func TestJWKS(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		me := c.Get("auth.me")
		res, err := http.Get(env.URL + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("jwks %s: %v", raw, err)
		}
		tok, err := jwt.ParseSigned(reg.Str("access_token"), []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		h := tok.Headers[0]
		keys := set.Key(h.KeyID)
		if len(keys) != 1 || !keys[0].IsPublic() || keys[0].Algorithm != "EdDSA" || keys[0].Use != "sig" {
			t.Fatalf("key %q in %s", h.KeyID, raw)
		}
		if typ, _ := h.ExtraHeaders["typ"].(string); typ != "at+jwt" {
			t.Errorf("typ header %q, want at+jwt (RFC 9068)", typ)
		}
		var std jwt.Claims
		var claims struct {
			Org   string `json:"org"`
			SID   string `json:"sid"`
			Scope any    `json:"scope"`
		}
		if err := tok.Claims(keys[0].Key, &std, &claims); err != nil {
			t.Fatalf("signature does not verify with the published key: %v", err)
		}
		if err := std.Validate(jwt.Expected{Issuer: env.URL, Subject: me.Obj("user")["id"].(string), Time: time.Now()}); err != nil {
			t.Errorf("standard claims: %v", err)
		}
		if std.IssuedAt == nil || std.Expiry == nil || std.Expiry.Time().Sub(std.IssuedAt.Time()) != 15*time.Minute {
			t.Errorf("iat %v exp %v, want 15 minutes apart", std.IssuedAt, std.Expiry)
		}
		if claims.Org != me.Obj("org")["id"] || claims.SID != me.Str("session_id") || claims.Scope != "api:read api:write org:admin" {
			t.Errorf("claims org=%q sid=%q scope=%#v; me %s", claims.Org, claims.SID, claims.Scope, me.Body)
		}
		// A tampered payload fails verification.
		parts := strings.Split(reg.Str("access_token"), ".")
		parts[1] = parts[1][:len(parts[1])-2] + "AA"
		wantTokenDead(t, env, "tampered token", strings.Join(parts, "."))
		// An unsigned token is refused whatever it claims.
		wantTokenDead(t, env, "alg none", parts[0][:0]+"eyJhbGciOiJub25lIn0."+parts[1]+".")
	})
}

func TestOpenAPI(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	r := env.Client(t).Do(http.MethodGet, "/v1/openapi.json", nil, nil)
	wantOK(t, "openapi", r)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	ops := env.Server.Operations()
	for _, name := range []string{"auth.register", "auth.login", "auth.login_or_register", "auth.logout", "auth.me", "auth.refresh",
		"auth.providers", "auth.password.change", "auth.password.set", "auth.account.delete", "auth.sessions.list",
		"auth.sessions.revoke", "auth.org.switch"} {
		if !slices.Contains(ops, name) {
			t.Errorf("the server lacks %s", name)
		}
	}
	var paths []string
	for p, item := range doc.Paths {
		paths = append(paths, p)
		name := strings.TrimPrefix(p, "/v1/")
		if item["post"]["operationId"] != name && item["get"]["operationId"] != name {
			t.Errorf("%s: no POST or GET with its operationId", p)
		}
	}
	var want []string
	for _, op := range ops {
		want = append(want, "/v1/"+op)
	}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("openapi paths %v\nserver operations %v", paths, want)
	}
	for _, read := range []string{"auth.me", "auth.providers", "auth.sessions.list"} {
		if doc.Paths["/v1/"+read]["get"] == nil {
			t.Errorf("%s answers GET but the document has no get", read)
		}
	}
	if doc.Paths["/v1/auth.login"]["get"] != nil {
		t.Error("auth.login is documented with GET")
	}
}

// TestSigningKeyOfAnotherNode: a node accepts tokens signed with a key that
// another node added to the database after it started.
func TestSigningKeyOfAnotherNode(t *testing.T) {
	sameIssuer := func(c *latchkey.Config) { c.Issuer = "https://issuer.example.com" }
	each(t, latchkeytest.Options{Configure: sameIssuer}, func(t *testing.T, a *latchkeytest.Env, db latchkeytest.Database) {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.CreateSigningKey(t.Context(), latchkey.SigningKey{Slot: 2, KID: "kid-slot-2", PrivateKey: priv, CreatedAt: a.Service.Now()}); err != nil {
			t.Fatal(err)
		}
		b := latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: sameIssuer}) // starts after: signs with slot 2
		token := b.Client(t).Register("ada@example.com", pw).Str("access_token")
		tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil || tok.Headers[0].KeyID != "kid-slot-2" {
			t.Fatalf("B signs with %v (%v), want the newest key", tok.Headers, err)
		}
		wantTokenWorks(t, a, "B's token on A", token)
	})
}
