package verify_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/verify"
)

// fetchCounter counts the JWKS fetches a verifier makes.
type fetchCounter struct{ n atomic.Int32 }

func (f *fetchCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/jwks.json") {
		f.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// clock is the verifier's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	env     *latchkeytest.Env
	db      latchkeytest.Database
	fetches *fetchCounter
	clock   *clock
}

func newFixture(t *testing.T, db latchkeytest.Database) *fixture {
	return &fixture{env: latchkeytest.New(t, latchkeytest.Options{Database: db}), db: db,
		fetches: &fetchCounter{}, clock: &clock{t: time.Now()}}
}

func (f *fixture) verifier(t *testing.T, edit func(*verify.Config)) *verify.Verifier {
	t.Helper()
	cfg := verify.Config{Issuer: f.env.URL, HTTPClient: &http.Client{Transport: f.fetches}, Now: f.clock.now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := verify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signIn registers a user and returns the session's access token and client.
func (f *fixture) signIn(t *testing.T, email string) (string, *latchkeytest.Client) {
	t.Helper()
	c := f.env.Client(t)
	return c.Register(email, "correct horse battery").Str("access_token"), c
}

// trustedKey adds a signing key of the test's own to the database, so
// that it is published in the JWKS and tokens it signs have a good
// signature: the claims checks can then be tested one by one.
func (f *fixture) trustedKey(t *testing.T, slot int) (ed25519.PrivateKey, string) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	kid := "test-kid-" + string(rune('a'+slot))
	if err := f.env.Store.CreateSigningKey(t.Context(), latchkey.SigningKey{Slot: slot, KID: kid, PrivateKey: priv, CreatedAt: f.env.Service.Now()}); err != nil {
		t.Fatal(err)
	}
	return priv, kid
}

func sign(t *testing.T, priv any, alg jose.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyOffline(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		f := newFixture(t, db)
		token, c := f.signIn(t, "ada@example.com")
		me := c.Get("auth.me")
		v := f.verifier(t, nil)
		claims, err := v.Verify(t.Context(), token)
		if err != nil {
			t.Fatalf("verify a fresh token: %v", err)
		}
		user, _ := me.JSON["user"].(map[string]any)
		if claims.Subject != user["id"] || claims.Org != me.Obj("org")["id"] || claims.SessionID != me.Str("session_id") {
			t.Errorf("claims %+v, auth.me %s", claims, me.Body)
		}
		if !claims.HasScope("api:write") || claims.Credential != "session" || claims.Issuer != f.env.URL || claims.TokenID == "" {
			t.Errorf("claims %+v", claims)
		}
		if claims.Expiry.Before(time.Now()) || claims.Expiry.After(time.Now().Add(time.Hour)) {
			t.Errorf("expiry %v", claims.Expiry)
		}

		// The same token fails the checks a resource server relies on.
		f.clock.add(16 * time.Minute)
		if _, err := v.Verify(t.Context(), token); !errors.Is(err, verify.ErrInvalidToken) {
			t.Errorf("expired token: %v", err)
		}
		f.clock.add(-16 * time.Minute)
		for name, edit := range map[string]func(*verify.Config){
			"another issuer": func(c *verify.Config) {
				c.Issuer = "https://other.example.com"
				c.JWKSURL = f.env.URL + "/.well-known/jwks.json"
			},
			"another audience": func(c *verify.Config) { c.Audience = "https://billing.example.com" },
		} {
			if _, err := f.verifier(t, edit).Verify(t.Context(), token); !errors.Is(err, verify.ErrInvalidToken) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := v.Verify(t.Context(), "sk_live_abc"); !errors.Is(err, verify.ErrInvalidToken) {
			t.Errorf("API key offline: %v", err)
		}
	})
}

// TestVerifyHostileTokens: tokens with a good signature from a published
// key but one claim wrong, and tokens no key signed, all fail.
func TestVerifyHostileTokens(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		f := newFixture(t, db)
		priv, kid := f.trustedKey(t, 7)
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		now := time.Now()
		good := func() map[string]any {
			return map[string]any{"iss": f.env.URL, "aud": f.env.URL, "sub": "usr_1", "org": "org_1", "sid": "ses_1",
				"scope": "api:read", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "j1"}
		}
		with := func(k string, val any) map[string]any {
			c := good()
			if val == nil {
				delete(c, k)
			} else {
				c[k] = val
			}
			return c
		}
		v := f.verifier(t, nil)
		if _, err := v.Verify(t.Context(), sign(t, priv, jose.EdDSA, kid, "at+jwt", good())); err != nil {
			t.Fatalf("the control token fails: %v", err)
		}
		hmacKey := []byte(strings.Repeat("k", 32))
		tests := map[string]string{
			"typ JWT":          sign(t, priv, jose.EdDSA, kid, "JWT", good()),
			"no typ":           sign(t, priv, jose.EdDSA, kid, "", good()),
			"wrong issuer":     sign(t, priv, jose.EdDSA, kid, "at+jwt", with("iss", "https://evil.example.com")),
			"no issuer":        sign(t, priv, jose.EdDSA, kid, "at+jwt", with("iss", nil)),
			"wrong audience":   sign(t, priv, jose.EdDSA, kid, "at+jwt", with("aud", "https://evil.example.com")),
			"no audience":      sign(t, priv, jose.EdDSA, kid, "at+jwt", with("aud", nil)),
			"expired":          sign(t, priv, jose.EdDSA, kid, "at+jwt", with("exp", now.Add(-time.Hour).Unix())),
			"no expiry":        sign(t, priv, jose.EdDSA, kid, "at+jwt", with("exp", nil)),
			"issued in future": sign(t, priv, jose.EdDSA, kid, "at+jwt", with("iat", now.Add(time.Hour).Unix())),
			"unknown key":      sign(t, stranger, jose.EdDSA, kid, "at+jwt", good()),
			"unknown kid":      sign(t, stranger, jose.EdDSA, "nobody", "at+jwt", good()),
			"HS256":            sign(t, hmacKey, jose.HS256, kid, "at+jwt", good()),
			"alg none":         "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + strings.Split(sign(t, priv, jose.EdDSA, kid, "at+jwt", good()), ".")[1] + ".",
			"garbage":          "not.a.jwt",
		}
		for name, tok := range tests {
			if _, err := v.Verify(t.Context(), tok); !errors.Is(err, verify.ErrInvalidToken) {
				t.Errorf("%s: %v, want ErrInvalidToken", name, err)
			}
		}
	})
}

// TestKeyRotation: a node that signs with a key published after the
// verifier's last fetch is accepted (unknown kid -> one refetch), and
// unknown kids refetch at most once per RefetchEvery.
func TestKeyRotation(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		f := newFixture(t, db)
		old, _ := f.signIn(t, "ada@example.com")
		v := f.verifier(t, nil)
		if _, err := v.Verify(t.Context(), old); err != nil {
			t.Fatal(err)
		}
		if n := f.fetches.n.Load(); n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
		// Rotate: a new key in the database; a node started now signs with it.
		f.trustedKey(t, 2)
		// Nodes of one deployment share its issuer (the public URL).
		nodeB := latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) {
			c.Issuer, c.TokenAudience = f.env.URL, f.env.URL
		}})
		c := nodeB.Client(t)
		fresh := c.Call("auth.login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}).Str("access_token")
		if kidOf(t, fresh) == kidOf(t, old) {
			t.Fatal("node B did not sign with the new key")
		}
		if _, err := v.Verify(t.Context(), fresh); err != nil {
			t.Fatalf("token of the new key: %v", err)
		}
		if n := f.fetches.n.Load(); n != 2 {
			t.Errorf("%d fetches after the rollover, want 2", n)
		}
		// Both keys verify without another fetch.
		for _, tok := range []string{old, fresh} {
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Error(err)
			}
		}
		// Forged kids: one refetch per RefetchEvery, however many tokens.
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		forged := sign(t, stranger, jose.EdDSA, "forged", "at+jwt", map[string]any{"iss": f.env.URL})
		f.clock.add(11 * time.Second)
		for range 20 {
			if _, err := v.Verify(t.Context(), forged); !errors.Is(err, verify.ErrInvalidToken) {
				t.Fatalf("forged: %v", err)
			}
		}
		if n := f.fetches.n.Load(); n != 3 {
			t.Errorf("%d fetches after 20 forged kids, want 3", n)
		}
		// After CacheFor the set is fetched again even for known kids.
		f.clock.add(6 * time.Minute)
		if _, err := v.Verify(t.Context(), fresh); err != nil {
			t.Error(err)
		}
		if n := f.fetches.n.Load(); n != 4 {
			t.Errorf("%d fetches after the cache expired, want 4", n)
		}
	})
}

func kidOf(t *testing.T, token string) string {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

// TestOnline: online mode fails a revoked session at once (offline still
// trusts it until it expires) and accepts secret API keys.
func TestOnline(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		f := newFixture(t, db)
		token, c := f.signIn(t, "ada@example.com")
		offline := f.verifier(t, nil)
		online := f.verifier(t, func(c *verify.Config) { c.Online = true })
		if _, err := online.Verify(t.Context(), token); err != nil {
			t.Fatalf("online, live session: %v", err)
		}
		key := c.Call("org.api_keys.create", map[string]any{"name": "svc", "scopes": []string{"api:read"}})
		kc, err := online.Verify(t.Context(), key.Str("secret"))
		if err != nil || kc.Credential != "api_key" || !kc.HasScope("api:read") || kc.HasScope("api:write") || kc.APIKeyID == "" {
			t.Errorf("online API key: %+v %v", kc, err)
		}
		c.Call("org.api_keys.revoke", map[string]any{"id": key.Obj("api_key")["id"]})
		if _, err := online.Verify(t.Context(), key.Str("secret")); !errors.Is(err, verify.ErrInvalidToken) {
			t.Errorf("online, revoked API key: %v", err)
		}
		bearer := f.env.Client(t)
		bearer.Bearer = token
		if r := bearer.Call("auth.logout", map[string]any{}); r.Status != http.StatusOK {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		if _, err := offline.Verify(t.Context(), token); err != nil {
			t.Errorf("offline still trusts the token until exp: %v", err)
		}
		if _, err := online.Verify(t.Context(), token); !errors.Is(err, verify.ErrInvalidToken) {
			t.Errorf("online, revoked session: %v", err)
		}
	})
}

// TestMiddleware: claims reach the handler; missing, bad and
// under-scoped tokens get the contract's envelope.
func TestMiddleware(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		f := newFixture(t, db)
		token, _ := f.signIn(t, "ada@example.com")
		v := f.verifier(t, nil)
		handler := func(w http.ResponseWriter, r *http.Request) {
			c, ok := verify.FromContext(r.Context())
			if !ok {
				t.Error("no claims in the context")
			}
			io.WriteString(w, c.Subject)
		}
		mux := http.NewServeMux()
		mux.Handle("/write", v.Middleware(verify.RequireScope("api:write")(http.HandlerFunc(handler))))
		mux.Handle("/billing", v.Middleware(verify.RequireScope("billing:admin")(http.HandlerFunc(handler))))
		srv := httptest.NewServer(mux)
		defer srv.Close()
		tests := []struct {
			name, path, auth string
			status           int
			code             string
		}{
			{"good token", "/write", "Bearer " + token, 200, ""},
			{"no token", "/write", "", 401, "unauthenticated"},
			{"not bearer", "/write", "Basic " + token, 401, "unauthenticated"},
			{"bad token", "/write", "Bearer " + token[:len(token)-4] + "AAAA", 401, "invalid_token"},
			{"missing scope", "/billing", "Bearer " + token, 403, "insufficient_scope"},
		}
		for _, tt := range tests {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var env struct {
				Error struct{ Code string } `json:"error"`
			}
			json.Unmarshal(body, &env)
			if res.StatusCode != tt.status || env.Error.Code != tt.code {
				t.Errorf("%s: %d %s, want %d %s", tt.name, res.StatusCode, body, tt.status, tt.code)
			}
			if tt.status == 200 && !strings.HasPrefix(string(body), "usr_") {
				t.Errorf("%s: handler saw subject %q", tt.name, body)
			}
			if tt.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", tt.name)
			}
		}
	})
}
