package server_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestEmailVerification(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		c, userID, code := env.register(t, "ann@example.com")

		st := c.Get("auth.onboarding.status")
		want(t, "onboarding before", st, http.StatusOK, "")
		if st.JSON["email_verified"] != false || st.JSON["has_password"] != true || st.JSON["complete"] != false {
			t.Errorf("onboarding before verification: %s", st.Body)
		}
		steps, _ := st.JSON["steps"].([]any)
		if len(steps) != 2 || steps[0].(map[string]any)["id"] != "verify_email" || steps[0].(map[string]any)["complete"] != false ||
			steps[1].(map[string]any)["id"] != "set_password" || steps[1].(map[string]any)["complete"] != true {
			t.Errorf("onboarding steps: %s", st.Body)
		}

		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		want(t, "wrong code", c.Call("auth.email.verify", map[string]any{"code": wrong}), http.StatusBadRequest, "invalid_code")
		want(t, "malformed code", c.Call("auth.email.verify", map[string]any{"code": "12ab"}), http.StatusBadRequest, "invalid_code")
		want(t, "no code", c.Call("auth.email.verify", map[string]any{}), http.StatusBadRequest, "invalid_request")
		want(t, "right code", c.Call("auth.email.verify", map[string]any{"code": code}), http.StatusOK, "")

		if me := c.Get("auth.me"); me.Obj("user")["email_verified"] != true {
			t.Errorf("auth.me after verify: %s", me.Body)
		}
		if st := c.Get("auth.onboarding.status"); st.JSON["email_verified"] != true || st.JSON["complete"] != true {
			t.Errorf("onboarding after verification: %s", st.Body)
		}
		want(t, "the used code again", c.Call("auth.email.verify", map[string]any{"code": code}), http.StatusConflict, "email_already_verified")
		want(t, "send after verify", c.Call("auth.email.send_verification_code", map[string]any{}), http.StatusConflict, "email_already_verified")
		want(t, "change after verify", c.Call("auth.email.change", map[string]any{"email": "new@example.com"}), http.StatusConflict, "email_already_verified")

		anon := env.Client(t)
		want(t, "verify anonymously", anon.Call("auth.email.verify", map[string]any{"code": code}), http.StatusUnauthorized, "unauthenticated")
		want(t, "onboarding anonymously", anon.Get("auth.onboarding.status"), http.StatusUnauthorized, "unauthenticated")

		env.wantAudit(t, userID, "user.email_verified")
		if ev := env.PostHog.Next(t, "email_verified"); ev.DistinctID != userID {
			t.Errorf("email_verified event for %q, want %q", ev.DistinctID, userID)
		}
	})
}

func TestVerificationCodeIsSupersededByANewOne(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		c, userID, first := env.register(t, "bob@example.com")
		want(t, "resend", c.Call("auth.email.send_verification_code", map[string]any{}), http.StatusOK, "")
		second := codeOf(t, env.SMTP.Next(t, "bob@example.com"))
		if first != second {
			want(t, "superseded code", c.Call("auth.email.verify", map[string]any{"code": first}), http.StatusBadRequest, "invalid_code")
		}
		want(t, "newest code", c.Call("auth.email.verify", map[string]any{"code": second}), http.StatusOK, "")
		env.wantAudit(t, userID, "user.email_code_sent", "user.email_verified")
	})
}

func TestVerificationCodeExpires(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, func(c *latchkey.Config) { c.CodeTTL = time.Minute })
		c, _, code := env.register(t, "cy@example.com")
		env.Clock.Advance(61 * time.Second)
		want(t, "expired code", c.Call("auth.email.verify", map[string]any{"code": code}), http.StatusBadRequest, "code_expired")
		want(t, "resend", c.Call("auth.email.send_verification_code", map[string]any{}), http.StatusOK, "")
		fresh := codeOf(t, env.SMTP.Next(t, "cy@example.com"))
		want(t, "fresh code", c.Call("auth.email.verify", map[string]any{"code": fresh}), http.StatusOK, "")
	})
}

// The attempt limit holds although request-rate limits are off (the
// harness's default), as the contract requires.
func TestVerificationCodeDiesAfterFiveWrongTries(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		c, _, code := env.register(t, "dee@example.com")
		n, _ := strconv.Atoi(code)
		for i := 1; i <= 5; i++ {
			wrong := strconv.Itoa(100000 + (n+i)%900000)
			want(t, "wrong try "+strconv.Itoa(i), c.Call("auth.email.verify", map[string]any{"code": wrong}), http.StatusBadRequest, "invalid_code")
		}
		want(t, "right code after five wrong tries", c.Call("auth.email.verify", map[string]any{"code": code}), http.StatusBadRequest, "code_expired")
		want(t, "resend", c.Call("auth.email.send_verification_code", map[string]any{}), http.StatusOK, "")
		fresh := codeOf(t, env.SMTP.Next(t, "dee@example.com"))
		want(t, "fresh code", c.Call("auth.email.verify", map[string]any{"code": fresh}), http.StatusOK, "")
	})
}

func TestVerificationSendsAreRateLimited(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, func(c *latchkey.Config) { c.RateLimits = true })
		c, _, _ := env.register(t, "eve@example.com") // the first of five
		for i := 2; i <= 5; i++ {
			want(t, "send "+strconv.Itoa(i), c.Call("auth.email.send_verification_code", map[string]any{}), http.StatusOK, "")
			env.SMTP.Next(t, "eve@example.com")
		}
		r := c.Call("auth.email.send_verification_code", map[string]any{})
		want(t, "sixth send within the hour", r, http.StatusTooManyRequests, "rate_limited")
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || wait <= 0 || wait > 3600 {
			t.Errorf("Retry-After = %q, want 1..3600 seconds", r.Header.Get("Retry-After"))
		}
		// Changing the address does not buy more codes.
		want(t, "email change at the limit", c.Call("auth.email.change", map[string]any{"email": "eve2@example.com"}), http.StatusTooManyRequests, "rate_limited")
		env.settle(t)
		env.SMTP.NoMessage(t, "eve@example.com")
		env.SMTP.NoMessage(t, "eve2@example.com")

		env.Clock.Advance(time.Hour + time.Minute)
		want(t, "refresh the expired access token", c.Call("auth.refresh", nil), http.StatusOK, "")
		want(t, "send an hour later", c.Call("auth.email.send_verification_code", map[string]any{}), http.StatusOK, "")
		code := codeOf(t, env.SMTP.Next(t, "eve@example.com"))
		want(t, "verify", c.Call("auth.email.verify", map[string]any{"code": code}), http.StatusOK, "")
	})
}

func TestEmailChange(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		c, userID, oldCode := env.register(t, "fay@example.com")
		env.register(t, "taken@example.com")

		want(t, "taken address", c.Call("auth.email.change", map[string]any{"email": "Taken@Example.com"}), http.StatusConflict, "email_taken")
		r := c.Call("auth.email.change", map[string]any{"email": "not an email"})
		want(t, "bad address", r, http.StatusBadRequest, "invalid_request")
		if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "email" {
			t.Errorf("field = %q, want email", f)
		}

		r = c.Call("auth.email.change", map[string]any{"email": "Fay.New@Example.com"})
		want(t, "change", r, http.StatusOK, "")
		if u := r.Obj("user"); u["email"] != "fay.new@example.com" || u["email_verified"] != false {
			t.Errorf("user after change: %s", r.Body)
		}
		newCode := codeOf(t, env.SMTP.Next(t, "fay.new@example.com"))
		if newCode != oldCode {
			want(t, "the old address's code", c.Call("auth.email.verify", map[string]any{"code": oldCode}), http.StatusBadRequest, "invalid_code")
		}
		want(t, "the new code", c.Call("auth.email.verify", map[string]any{"code": newCode}), http.StatusOK, "")
		if me := c.Get("auth.me"); me.Obj("user")["email"] != "fay.new@example.com" || me.Obj("user")["email_verified"] != true {
			t.Errorf("auth.me: %s", me.Body)
		}
		// The account signs in with the new address only.
		want(t, "login old address", env.Client(t).Call("auth.login", map[string]any{"email": "fay@example.com", "password": "correct horse battery"}), http.StatusUnauthorized, "invalid_credentials")
		want(t, "login new address", env.Client(t).Call("auth.login", map[string]any{"email": "fay.new@example.com", "password": "correct horse battery"}), http.StatusOK, "")
		env.wantAudit(t, userID, "user.email_changed", "user.email_verified")
	})
}

// Sends racing each other still count against one another.
func TestConcurrentVerificationSendsShareTheLimit(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, func(c *latchkey.Config) { c.RateLimits = true })
		c, _, _ := env.register(t, "gil@example.com")
		statuses := make(chan int, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- c.Call("auth.email.send_verification_code", map[string]any{}).Status
			}()
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[http.StatusOK] != 4 || count[http.StatusTooManyRequests] != 4 {
			t.Errorf("statuses %v, want four 200 and four 429", count)
		}
	})
}
