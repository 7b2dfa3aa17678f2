package server_test

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
)

func TestPasswordReset(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		c, userID, _ := env.register(t, "gus@example.com")
		other := env.Client(t)
		second := other.Call("auth.login", map[string]any{"email": "gus@example.com", "password": "correct horse battery"})
		want(t, "second session", second, http.StatusOK, "")

		anon := env.Client(t)
		want(t, "request", anon.Call("auth.password.reset.request", map[string]any{"email": "GUS@example.com"}), http.StatusOK, "")
		msg := env.SMTP.Next(t, "gus@example.com")
		token := tokenOf(t, msg, env.URL+"/reset-password")

		want(t, "weak password", anon.Call("auth.password.reset.complete", map[string]any{"token": token, "new_password": "short"}), http.StatusBadRequest, "weak_password")
		want(t, "missing password", anon.Call("auth.password.reset.complete", map[string]any{"token": token}), http.StatusBadRequest, "invalid_request")
		want(t, "unknown token", anon.Call("auth.password.reset.complete", map[string]any{"token": token + "x", "new_password": "brand new secret 42"}), http.StatusBadRequest, "invalid_token")
		want(t, "complete", anon.Call("auth.password.reset.complete", map[string]any{"token": token, "new_password": "brand new secret 42"}), http.StatusOK, "")
		want(t, "the link again", anon.Call("auth.password.reset.complete", map[string]any{"token": token, "new_password": "another secret 43"}), http.StatusBadRequest, "invalid_token")

		// Every session of the user is revoked, cookie and bearer alike.
		want(t, "cookie session after reset", c.Get("auth.me"), http.StatusUnauthorized, "invalid_token")
		want(t, "bearer session after reset", bearerClient(env, t, second.Str("access_token")).Get("auth.me"), http.StatusUnauthorized, "invalid_token")
		want(t, "old password", env.Client(t).Call("auth.login", map[string]any{"email": "gus@example.com", "password": "correct horse battery"}), http.StatusUnauthorized, "invalid_credentials")
		login := env.Client(t).Call("auth.login", map[string]any{"email": "gus@example.com", "password": "brand new secret 42"})
		want(t, "new password", login, http.StatusOK, "")
		if login.Obj("user")["email_verified"] != true {
			t.Errorf("the reset link did not verify the address: %s", login.Body)
		}
		env.wantAudit(t, userID, "user.password_reset_requested", "user.password_reset")
		if ev := env.PostHog.Next(t, "password_reset_completed"); ev.DistinctID != userID {
			t.Errorf("password_reset_completed for %q, want %q", ev.DistinctID, userID)
		}
	})
}

// An unknown address gets exactly the answer a known one gets, and no mail.
func TestPasswordResetForUnknownEmail(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		env.register(t, "hal@example.com")
		anon := env.Client(t)
		known := anon.Call("auth.password.reset.request", map[string]any{"email": "hal@example.com"})
		unknown := anon.Call("auth.password.reset.request", map[string]any{"email": "nobody@example.com"})
		want(t, "known", known, http.StatusOK, "")
		if unknown.Status != known.Status || !bytes.Equal(unknown.Body, known.Body) {
			t.Errorf("unknown email: %d %s, known: %d %s", unknown.Status, unknown.Body, known.Status, known.Body)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Set-Cookie", "Retry-After"} {
			if unknown.Header.Get(h) != known.Header.Get(h) {
				t.Errorf("header %s: unknown %q, known %q", h, unknown.Header.Get(h), known.Header.Get(h))
			}
		}
		env.SMTP.Next(t, "hal@example.com")
		env.settle(t)
		env.SMTP.NoMessage(t, "nobody@example.com")
		if n := len(env.SMTP.Messages()); n != 2 { // hal's code and hal's link
			t.Errorf("%d messages sent, want 2", n)
		}
		want(t, "malformed address", anon.Call("auth.password.reset.request", map[string]any{"email": "nope"}), http.StatusBadRequest, "invalid_request")
	})
}

func TestPasswordResetLinkExpiresAndOnlyTheNewestWorks(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		env.register(t, "ivy@example.com")
		anon := env.Client(t)
		request := func() string {
			t.Helper()
			want(t, "request", anon.Call("auth.password.reset.request", map[string]any{"email": "ivy@example.com"}), http.StatusOK, "")
			return tokenOf(t, env.SMTP.Next(t, "ivy@example.com"), env.URL+"/reset-password")
		}
		first := request()
		second := request()
		want(t, "the older link", anon.Call("auth.password.reset.complete", map[string]any{"token": first, "new_password": "brand new secret 42"}), http.StatusBadRequest, "invalid_token")
		env.Clock.Advance(31 * time.Minute)
		want(t, "an expired link", anon.Call("auth.password.reset.complete", map[string]any{"token": second, "new_password": "brand new secret 42"}), http.StatusBadRequest, "invalid_token")
		third := request()
		want(t, "a fresh link", anon.Call("auth.password.reset.complete", map[string]any{"token": third, "new_password": "brand new secret 42"}), http.StatusOK, "")
	})
}

// The token is long, URL-safe and never the same twice.
func TestPasswordResetTokenShape(t *testing.T) {
	env := startMailEnv(t, latchkeytest.SQLite(t), nil)
	env.register(t, "jo@example.com")
	anon := env.Client(t)
	seen := map[string]bool{}
	for range 3 {
		want(t, "request", anon.Call("auth.password.reset.request", map[string]any{"email": "jo@example.com"}), http.StatusOK, "")
		tok := tokenOf(t, env.SMTP.Next(t, "jo@example.com"), env.URL+"/reset-password")
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{43,}$`).MatchString(tok) || seen[tok] {
			t.Errorf("token %q is short, not URL-safe, or repeated", tok)
		}
		seen[tok] = true
	}
}
