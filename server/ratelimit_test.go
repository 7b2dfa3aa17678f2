package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// guesses is more attempts than any request-rate rule's burst, sent far
// faster than any rule refills.
const guesses = 60

func rateLimitedEnv(t *testing.T) *latchkeytest.Env {
	t.Helper()
	return latchkeytest.New(t, latchkeytest.Options{Configure: func(c *latchkey.Config) { c.RateLimits = true }})
}

// TestEveryGuessingPathIsRateLimited: each operation that checks a
// guessable credential answers 429 rate_limited with Retry-After once a
// caller keeps guessing.
func TestEveryGuessingPathIsRateLimited(t *testing.T) {
	for _, tc := range []struct {
		op      string
		session bool // the guesser holds a session of the victim
		body    map[string]any
	}{
		{"auth.login", false, map[string]any{"email": "victim@example.com", "password": "wrong password 1"}},
		{"auth.login_or_register", false, map[string]any{"email": "victim@example.com", "password": "wrong password 1"}},
		{"auth.email.verify", true, map[string]any{"code": "000000"}},
		{"auth.password.reset.complete", false, map[string]any{"token": "guess", "new_password": "brand new secret 42"}},
		{"auth.oauth.exchange", false, map[string]any{"code": "guess"}},
		{"auth.oauth.transfer.confirm", true, map[string]any{"token": "guess"}},
		{"auth.complete_invitation", false, map[string]any{"token": "guess", "password": "correct horse battery"}},
		{"auth.password.change", true, map[string]any{"current_password": "wrong password 1", "new_password": "brand new secret 42"}},
		{"auth.account.delete", true, map[string]any{"password": "wrong password 1"}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			env := rateLimitedEnv(t)
			victim := env.Client(t)
			victim.Register("victim@example.com", "correct horse battery")
			c := env.Client(t)
			if tc.session {
				c = victim
			}
			for i := range guesses {
				r := c.Call(tc.op, tc.body)
				if r.Status == http.StatusTooManyRequests {
					if r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
						t.Fatalf("429 without rate_limited and Retry-After: %s", r.Body)
					}
					return
				}
				if r.Status == http.StatusOK {
					t.Fatalf("guess %d succeeded: %s", i, r.Body)
				}
			}
			t.Fatalf("%d wrong guesses and never rate_limited", guesses)
		})
	}
}

// TestDashboardTokenExchangeIsRateLimited: a browser that guessed too
// many dashboard tokens is sent to sign in even with a valid one, which
// stays unused.
func TestDashboardTokenExchangeIsRateLimited(t *testing.T) {
	env := rateLimitedEnv(t)
	owner := env.Client(t)
	owner.Register("dashboard@example.com", "correct horse battery")
	key := owner.Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"org:admin"}})
	k := env.Client(t)
	k.Bearer = key.Str("secret")
	tok := k.Call("auth.dashboard_token.create", map[string]any{}).Str("token")
	if tok == "" {
		t.Fatal("no dashboard token")
	}
	exchange := func(token string) *latchkeytest.Response {
		return env.Client(t).Do(http.MethodGet, "/v1/auth.dashboard_token.exchange?token="+url.QueryEscape(token), nil, nil)
	}
	for range guesses {
		exchange("guess")
	}
	r := exchange(tok)
	if !strings.HasSuffix(r.Header.Get("Location"), "/login") || r.Cookie("latchkey_access") != nil {
		t.Fatalf("after %d guesses a valid token still signed in: %d %s", guesses, r.Status, r.Header.Get("Location"))
	}
}
