package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestCSRFRuleIsForCookies (contract §2): a bearer request is never
// refused for its Origin (a backend forwarding a browser's headers),
// while a cookie request and an anonymous sign-in (login CSRF) from a
// foreign origin are.
func TestCSRFRuleIsForCookies(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		browser := env.Client(t)
		token := browser.Register("csrf@example.com", ownerPassword).Str("access_token")
		foreign := http.Header{"Origin": {"https://evil.example"}}
		key := bearer(t, env, token).Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"api:read"}}).Str("secret")

		for _, tc := range []struct {
			what   string
			c      *latchkeytest.Client
			op     string
			body   any
			status int
		}{
			{"session bearer, foreign Origin", bearer(t, env, token), "auth.me", map[string]any{}, 200},
			{"session bearer, foreign Origin, state change", bearer(t, env, token), "org.publishable_keys.create", map[string]any{}, 200},
			{"API key bearer, foreign Origin", bearer(t, env, key), "auth.me", map[string]any{}, 200},
			{"cookie, foreign Origin", browser, "org.publishable_keys.create", map[string]any{}, 403},
			{"anonymous sign-in, foreign Origin", env.Client(t), "auth.login", map[string]any{"email": "csrf@example.com", "password": ownerPassword}, 403},
			{"anonymous sign-up, foreign Origin", env.Client(t), "auth.register", map[string]any{"email": "new@example.com", "password": ownerPassword}, 403},
		} {
			r := tc.c.Do(http.MethodPost, "/v1/"+tc.op, tc.body, foreign)
			if r.Status != tc.status || (tc.status == 403 && r.Code() != "csrf_rejected") {
				t.Errorf("%s: %d %s, want %d", tc.what, r.Status, r.Body, tc.status)
			}
		}
	})
}

// TestBodilessPOSTs: auth.logout and auth.refresh by cookie treat a POST
// without body and without Content-Type alike (accepted, as {}), and
// both refuse a declared non-JSON body or a foreign Origin.
func TestBodilessPOSTs(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		env.Client(t).Register("bodiless@example.com", ownerPassword)
		signedIn := func() *latchkeytest.Client {
			c, _ := login(t, env, "bodiless@example.com", ownerPassword)
			return c
		}
		for _, op := range []string{"auth.refresh", "auth.logout"} {
			t.Run(op, func(t *testing.T) {
				wantOK(t, "no body, no Content-Type", signedIn().Do(http.MethodPost, "/v1/"+op, nil, nil))
				wantOK(t, "no body, our Origin", signedIn().Do(http.MethodPost, "/v1/"+op, nil, http.Header{"Origin": {env.URL}}))
				expectError(t, "text/plain body", signedIn().Do(http.MethodPost, "/v1/"+op, nil, http.Header{"Content-Type": {"text/plain"}}), 403, "csrf_rejected")
				expectError(t, "form body", signedIn().Do(http.MethodPost, "/v1/"+op, nil, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}), 403, "csrf_rejected")
				expectError(t, "no body, foreign Origin", signedIn().Do(http.MethodPost, "/v1/"+op, nil, http.Header{"Origin": {"https://evil.example"}}), 403, "csrf_rejected")
			})
		}
		// The rule is one for every cookie operation, not only these two.
		wantOK(t, "bodiless cookie POST elsewhere", signedIn().Do(http.MethodPost, "/v1/org.publishable_keys.create", nil, nil))
	})
}
