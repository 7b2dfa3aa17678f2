package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// wantCookie checks one Set-Cookie of r against the attributes every
// Latchkey cookie must have.
func wantCookie(t *testing.T, r *latchkeytest.Response, name, path string, same http.SameSite, cleared bool) {
	t.Helper()
	c := r.Cookie(name)
	if c == nil {
		t.Fatalf("no %s cookie in %v", name, r.Header.Values("Set-Cookie"))
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != same || c.Path != path {
		t.Errorf("%s: HttpOnly=%v Secure=%v SameSite=%v Path=%q, want HttpOnly, Secure, SameSite=%v, Path=%q", name, c.HttpOnly, c.Secure, c.SameSite, c.Path, same, path)
	}
	if cleared && (c.Value != "" || c.MaxAge >= 0 || !strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), "\n"), name+"=; Path="+path+"; Max-Age=0")) {
		t.Errorf("%s not cleared with Max-Age=0: %v", name, r.Header.Values("Set-Cookie"))
	}
	if !cleared && (c.Value == "" || c.MaxAge <= 0) {
		t.Errorf("%s: value %q, Max-Age %d, want a value and a positive Max-Age", name, c.Value, c.MaxAge)
	}
}

// TestCookiesOnAnHTTPSDeployment: with an https public URL every cookie
// Latchkey sets is HttpOnly, Secure, SameSite and scoped to its path, and
// clearing one sends Max-Age=0.
func TestCookiesOnAnHTTPSDeployment(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t), func(c *latchkey.Config) {
		c.PublicURL, c.DashboardURL = "https://auth.example.test", "https://auth.example.test"
	})
	c := e.Client(t)
	reg := c.Call("auth.register", map[string]any{"email": "cookie@example.com", "password": "correct horse battery"})
	if reg.Status != http.StatusOK {
		t.Fatalf("register: %d %s", reg.Status, reg.Body)
	}
	wantCookie(t, reg, "latchkey_access", "/", http.SameSiteLaxMode, false)
	wantCookie(t, reg, "latchkey_refresh", "/v1/auth.refresh", http.SameSiteStrictMode, false)
	c.Bearer = reg.Str("access_token") // the jar keeps Secure cookies away from http://

	start := e.Client(t).Do(http.MethodGet, "/oauth/acme/start", nil, nil)
	wantCookie(t, start, "latchkey_oauth", "/oauth/acme/", http.SameSiteLaxMode, false)

	link := c.Call("auth.oauth.link.start", map[string]any{"provider": "acme"})
	if link.Status != http.StatusOK {
		t.Fatalf("link.start: %d %s", link.Status, link.Body)
	}
	wantCookie(t, link, "linking_user_id", "/oauth/", http.SameSiteLaxMode, false)
	if v := link.Cookie("linking_user_id").Value; strings.HasPrefix(v, "usr_") || strings.Contains(string(reg.Body), v) {
		t.Errorf("linking_user_id holds %q, which is not an opaque handle", v)
	}

	// A callback without the state cookie fails and clears the cookie.
	cb := e.Client(t).Do(http.MethodGet, "/oauth/acme/callback?state=x&code=y", nil, nil)
	wantCookie(t, cb, "latchkey_oauth", "/oauth/acme/", http.SameSiteLaxMode, true)

	out := c.Call("auth.logout", map[string]any{})
	if out.Status != http.StatusOK {
		t.Fatalf("logout: %d %s", out.Status, out.Body)
	}
	wantCookie(t, out, "latchkey_access", "/", http.SameSiteLaxMode, true)
	wantCookie(t, out, "latchkey_refresh", "/v1/auth.refresh", http.SameSiteStrictMode, true)
}

// TestNoLoginCSRF: a cross-site form can send a JSON-looking body as
// text/plain; such a request must not sign the browser in to the
// attacker's account (or do anything else).
func TestNoLoginCSRF(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	env.Client(t).Register("attacker@example.com", "correct horse battery=")
	form := `{"email":"attacker@example.com","password":"correct horse battery=` + `"}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		for _, op := range []string{"auth.login", "auth.login_or_register", "auth.register"} {
			r := env.Client(t).Do(http.MethodPost, "/v1/"+op, form, http.Header{"Content-Type": {ct}, "Origin": {"https://evil.example"}})
			if r.Status != http.StatusForbidden || r.Code() != "csrf_rejected" || r.Cookie("latchkey_access") != nil {
				t.Errorf("%s as %q: %d %s, want 403 csrf_rejected and no cookie", op, ct, r.Status, r.Body)
			}
		}
	}
	r := env.Client(t).Call("auth.login", form)
	if r.Status != http.StatusOK {
		t.Errorf("the same login as JSON: %d %s", r.Status, r.Body)
	}
}
