package server_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
)

func factorTypes(fs []map[string]any) []string { return pluck(fs, "type") }

// The whole TOTP path: enroll, confirm, sign out, password sign-in stops at
// mfa_required, the code finishes it at aal2; the mfa_token works once and
// a replayed code is refused.
func TestMFATOTPSignIn(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		ev := &events{}
		env := latchkeytest.New(t, latchkeytest.Options{Database: db, Service: func(s *latchkey.Service) { s.Analytics = ev }})
		c := env.Client(t)
		wantOK(t, "register", c.Register("ada@example.com", pw))
		if me := c.Get("auth.me"); me.Str("aal") != "aal1" || me.Obj("mfa")["enrolled"] != false {
			t.Fatalf("before MFA: %s", me.Body)
		}
		factorID, secret, codes := enrollTOTP(t, env, c)
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes, want 10", len(codes))
		}
		seen := map[string]bool{}
		for _, code := range codes {
			if !recoveryCodeShape.MatchString(code) || seen[code] {
				t.Fatalf("recovery codes %v", codes)
			}
			seen[code] = true
		}
		// Confirming the first factor made the enrolling session aal2.
		me := c.Get("auth.me")
		if me.Str("aal") != "aal2" || me.Obj("mfa")["enrolled"] != true || me.Obj("mfa")["required"] != false {
			t.Fatalf("after enrolling: %s", me.Body)
		}
		list := c.Get("auth.mfa.list")
		wantOK(t, "mfa.list", list)
		fs := list.JSON["factors"].([]any)
		if len(fs) != 1 || fs[0].(map[string]any)["id"] != factorID || fs[0].(map[string]any)["type"] != "totp" || list.JSON["recovery_codes_remaining"] != float64(10) {
			t.Fatalf("mfa.list: %s", list.Body)
		}
		wantOK(t, "logout", c.Call("auth.logout", map[string]any{}))

		c2, token, factors := mfaChallenge(t, env, "ada@example.com")
		if got := factorTypes(factors); !slices.Equal(got, []string{"totp", "recovery_code"}) || factors[0]["id"] != factorID {
			t.Fatalf("factors %v", factors)
		}
		expectError(t, "wrong code", c2.Call("auth.mfa.verify", map[string]any{"mfa_token": token, "code": wrongTOTP(t, env, secret)}), http.StatusBadRequest, "invalid_code")
		code := totpAt(t, secret, env.Clock.Now())
		r := c2.Call("auth.mfa.verify", map[string]any{"mfa_token": token, "factor_id": factorID, "code": code})
		wantOK(t, "verify", r)
		if r.Cookie("latchkey_access") == nil || r.Str("refresh_token") == "" || r.Str("aal") != "aal2" {
			t.Fatalf("verify must set the session of auth.login: %s", r.Body)
		}
		wantAssurance(t, env, "password + totp", r.Str("access_token"), "aal2", "pwd", "otp", "mfa")
		// The cookie session is the same aal2 session.
		if me := c2.Get("auth.me"); me.Str("aal") != "aal2" {
			t.Fatalf("cookie session: %s", me.Body)
		}

		expectError(t, "used mfa_token", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token, "code": code}), http.StatusBadRequest, "invalid_token")
		_, token2, _ := mfaChallenge(t, env, "ada@example.com")
		expectError(t, "replayed code", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token2, "code": code}), http.StatusBadRequest, "invalid_code")
		env.Clock.Advance(30 * time.Second)
		wantOK(t, "next step's code", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token2, "code": totpAt(t, secret, env.Clock.Now())}))

		// An mfa_token lives five minutes.
		_, token3, _ := mfaChallenge(t, env, "ada@example.com")
		env.Clock.Advance(5*time.Minute + time.Second)
		expectError(t, "expired mfa_token", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token3, "code": totpAt(t, secret, env.Clock.Now())}), http.StatusBadRequest, "invalid_token")

		u := user(t, env, "ada@example.com")
		actions := auditActions(t, env, u.ID)
		for _, want := range []string{"mfa.enrolled", "mfa.verified", "mfa.verify_failed"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit trail %v lacks %s", actions, want)
			}
		}
		for _, name := range []string{"mfa_enrolled", "mfa_verified"} {
			if len(ev.find(name)) == 0 {
				t.Errorf("no %s analytics event", name)
			}
		}
	})
}

// A recovery code finishes a sign-in once; typed with its dash, upper case
// or not, and never again.
func TestMFARecoveryCode(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		ev := &events{}
		env := latchkeytest.New(t, latchkeytest.Options{Database: db, Service: func(s *latchkey.Service) { s.Analytics = ev }})
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		_, _, codes := enrollTOTP(t, env, c)

		_, token, _ := mfaChallenge(t, env, "ada@example.com")
		r := env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token, "code": strings.ToUpper(codes[3])})
		wantOK(t, "recovery code", r)
		wantAssurance(t, env, "password + recovery code", r.Str("access_token"), "aal2", "pwd", "otp", "mfa")
		if n := bearer(t, env, r.Str("access_token")).Get("auth.mfa.list").JSON["recovery_codes_remaining"]; n != float64(9) {
			t.Fatalf("remaining %v, want 9", n)
		}
		_, token2, _ := mfaChallenge(t, env, "ada@example.com")
		expectError(t, "used recovery code", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token2, "factor_id": "recovery_code", "code": codes[3]}), http.StatusBadRequest, "invalid_code")
		wantOK(t, "another code", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token2, "factor_id": "recovery_code", "code": strings.ReplaceAll(codes[4], "-", "")}))
		if !slices.Contains(auditActions(t, env, user(t, env, "ada@example.com").ID), "mfa.recovery_code_used") || len(ev.find("recovery_code_used")) != 2 {
			t.Fatalf("recovery_code_used not recorded")
		}
	})
}

// Any passkey of the user finishes a password sign-in as a second factor.
func TestMFAPasskeyAsSecondFactor(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		pe := newPasskeyEnv(t, db)
		env := pe.Env
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		a := pe.authenticator()
		wantOK(t, "add passkey", addPasskey(t, c, a, "YubiKey"))
		enrollTOTP(t, env, c)

		c2, token, factors := mfaChallenge(t, env, "ada@example.com")
		if got := factorTypes(factors); !slices.Equal(got, []string{"totp", "passkey", "recovery_code"}) {
			t.Fatalf("factors %v", got)
		}
		id, opts := begin(t, c2, "auth.mfa.passkey.begin", map[string]any{"mfa_token": token})
		cred, err := a.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		r := finish(c2, "auth.mfa.verify", id, cred, map[string]any{"mfa_token": token})
		wantOK(t, "passkey as second factor", r)
		wantAssurance(t, env, "password + passkey", r.Str("access_token"), "aal2", "pwd", "hwk", "mfa")

		// Another user's passkey is no second factor for this account.
		other := env.Client(t)
		other.Register("eve@example.com", pw)
		b := pe.authenticator()
		addPasskey(t, other, b, "Eve's key")
		_, token2, _ := mfaChallenge(t, env, "ada@example.com")
		id2, opts2 := begin(t, c2, "auth.mfa.passkey.begin", map[string]any{"mfa_token": token2})
		if cred2, err := b.Get(opts2); err == nil {
			if r := finish(c2, "auth.mfa.verify", id2, cred2, map[string]any{"mfa_token": token2}); r.Status == http.StatusOK {
				t.Fatalf("another user's passkey passed: %s", r.Body)
			}
		}
		// A passkey sign-in is never asked for a second factor: it is aal2.
		r = signIn(t, env.Client(t), a, "ada@example.com")
		wantOK(t, "passkey sign-in", r)
		wantAssurance(t, env, "passkey sign-in", r.Str("access_token"), "aal2", "hwk", "mfa")
	})
}

// OAuth sign-ins stop at mfa_required too, and the second factor sets the
// session in cookies only, as auth.oauth.exchange would have.
func TestMFAOAuthSignIn(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		c := e.Client(t)
		e.signInAndExchange(t, c, "acme")
		_, secret, _ := enrollTOTP(t, e.Env, c)
		wantOK(t, "logout", c.Call("auth.logout", map[string]any{}))

		b := e.Client(t)
		loc := e.signIn(t, b, "acme")
		r := b.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")})
		expectError(t, "oauth exchange with MFA", r, http.StatusForbidden, "mfa_required")
		if r.Cookie("latchkey_access") != nil {
			t.Fatal("mfa_required set a cookie")
		}
		token, _ := r.Obj("error")["mfa_token"].(string)
		r = b.Call("auth.mfa.verify", map[string]any{"mfa_token": token, "code": totpAt(t, secret, e.Clock.Now())})
		wantOK(t, "verify after oauth", r)
		if r.Str("access_token") != "" || r.Cookie("latchkey_access") == nil {
			t.Fatalf("cookies only, like auth.oauth.exchange: %s", r.Body)
		}
		wantAssurance(t, e.Env, "oauth + totp", r.Cookie("latchkey_access").Value, "aal2", "fed", "otp", "mfa")
	})
}

// Five wrong codes kill an mfa_token, and ten per user per 15 minutes stop
// every token, with 50 guesses in parallel.
func TestMFAAttemptLimitsInParallel(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		_, secret, _ := enrollTOTP(t, env, c)
		wrong := wrongTOTP(t, env, secret)

		guess := func(tokens []string, n int) map[string]int {
			var mu sync.Mutex
			var wg sync.WaitGroup
			got := map[string]int{}
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": tokens[i%len(tokens)], "code": wrong})
					mu.Lock()
					got[r.Code()]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return got
		}

		_, token, _ := mfaChallenge(t, env, "ada@example.com")
		got := guess([]string{token}, 50)
		if got["invalid_code"] > 5 || got["invalid_code"]+got["invalid_token"] != 50 {
			t.Fatalf("one token, 50 parallel guesses: %v (at most 5 checked)", got)
		}
		expectError(t, "right code on a dead token", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": token, "code": totpAt(t, secret, env.Clock.Now())}), http.StatusBadRequest, "invalid_token")

		// A fresh window: the per-user limit across ten tokens.
		env.Clock.Advance(16 * time.Minute)
		var tokens []string
		for range 10 {
			_, tk, _ := mfaChallenge(t, env, "ada@example.com")
			tokens = append(tokens, tk)
		}
		got = guess(tokens, 50)
		if got["invalid_code"] > 10 || got["rate_limited"] < 40 {
			t.Fatalf("ten tokens, 50 parallel guesses: %v (at most 10 checked)", got)
		}
		_, tk, _ := mfaChallenge(t, env, "ada@example.com")
		r := env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": tk, "code": totpAt(t, secret, env.Clock.Now())})
		expectError(t, "right code past the user limit", r, http.StatusTooManyRequests, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		env.Clock.Advance(16 * time.Minute)
		_, tk, _ = mfaChallenge(t, env, "ada@example.com")
		wantOK(t, "after the window", env.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": tk, "code": totpAt(t, secret, env.Clock.Now())}))
	})
}

// The operations of §7 need a fresh aal2 session for a user with MFA; a
// step-up with auth.mfa.verify on the session opens them.
func TestMFAStepUp(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		old, _ := login(t, env, "ada@example.com", pw) // signed in before MFA: stays aal1
		_, secret, _ := enrollTOTP(t, env, c)

		for _, tc := range []struct {
			op   string
			body map[string]any
		}{
			{"auth.password.change", map[string]any{"current_password": pw, "new_password": "a whole new password"}},
			{"org.api_keys.create", map[string]any{"name": "ci", "scopes": []string{"api:read"}}},
			{"auth.mfa.recovery_codes.regenerate", map[string]any{}},
			{"auth.mfa.delete", map[string]any{"id": "fac_x"}},
			{"auth.account.delete", map[string]any{"password": pw}},
		} {
			expectError(t, "aal1 "+tc.op, old.Call(tc.op, tc.body), http.StatusForbidden, "mfa_step_up_required")
		}
		// The enrolling session is aal2 and fresh: the key is created.
		wantOK(t, "fresh aal2", c.Call("org.api_keys.create", map[string]any{"name": "ci", "scopes": []string{"api:read"}}))
		env.Clock.Advance(16 * time.Minute)
		wantOK(t, "refresh", c.Call("auth.refresh", nil)) // a new access token, the same session
		expectError(t, "stale aal2", c.Call("org.api_keys.create", map[string]any{"name": "ci2", "scopes": []string{"api:read"}}), http.StatusForbidden, "mfa_step_up_required")

		wantOK(t, "refresh the aal1 session", old.Call("auth.refresh", nil))
		expectError(t, "step-up with a wrong code", old.Call("auth.mfa.verify", map[string]any{"code": wrongTOTP(t, env, secret)}), http.StatusBadRequest, "invalid_code")
		r := old.Call("auth.mfa.verify", map[string]any{"code": totpAt(t, secret, env.Clock.Now())})
		wantOK(t, "step-up", r)
		wantAssurance(t, env, "stepped up", r.Str("access_token"), "aal2", "pwd", "otp", "mfa")
		r = old.Call("auth.mfa.recovery_codes.regenerate", map[string]any{})
		wantOK(t, "regenerate after step-up", r)
		if len(r.JSON["recovery_codes"].([]any)) != 10 {
			t.Fatalf("regenerate: %s", r.Body)
		}
		wantOK(t, "password change after step-up", old.Call("auth.password.change", map[string]any{"current_password": pw, "new_password": "a whole new password"}))
	})
}

// An org that requires MFA lets a member without a factor only enroll;
// once enrolled, an aal1 session must verify; API keys are not affected.
func TestMFAOrgPolicy(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		owner := env.Client(t)
		owner.Register("owner@example.com", pw)
		ownerID := user(t, env, "owner@example.com").ID
		orgID := owner.Get("auth.me").Obj("org")["id"].(string)
		r := owner.Call("org.api_keys.create", map[string]any{"name": "admin key", "scopes": []string{"org:admin"}})
		wantOK(t, "org key", r)
		key := r.Str("secret")

		member := env.Client(t)
		member.Register("member@example.com", pw)
		memberID := user(t, env, "member@example.com").ID
		addMember(t, env, memberID, orgID, latchkey.RoleMember)
		wantOK(t, "switch", member.Call("auth.org.switch", map[string]any{"org_id": orgID}))

		if g := member.Get("org.settings.get"); g.Obj("settings")["require_mfa"] != false {
			t.Fatalf("settings.get: %s", g.Body)
		}
		expectError(t, "member updates settings", member.Call("org.settings.update", map[string]any{"require_mfa": true}), http.StatusForbidden, "forbidden")
		r = owner.Call("org.settings.update", map[string]any{"require_mfa": true})
		wantOK(t, "owner requires MFA", r)
		if r.Obj("settings")["require_mfa"] != true {
			t.Fatalf("settings.update: %s", r.Body)
		}

		expectError(t, "member without a factor", member.Get("org.members.list"), http.StatusForbidden, "mfa_enrollment_required")
		expectError(t, "member without a factor", member.Call("auth.oauth.list", nil), http.StatusForbidden, "mfa_enrollment_required")
		me := member.Get("auth.me")
		wantOK(t, "auth.me stays open", me)
		if me.Obj("mfa")["required"] != true || me.Obj("mfa")["enrolled"] != false {
			t.Fatalf("auth.me: %s", me.Body)
		}
		wantOK(t, "sessions stay open", member.Get("auth.sessions.list"))
		// The org key is not a session: the policy does not touch it.
		wantOK(t, "API key", bearer(t, env, key).Get("org.members.list"))

		second, _ := login(t, env, "member@example.com", pw) // aal1, personal org first
		wantOK(t, "second switches", second.Call("auth.org.switch", map[string]any{"org_id": orgID}))
		_, secret, _ := enrollTOTP(t, env, member)
		wantOK(t, "enrolled member (aal2)", member.Call("auth.oauth.list", nil))
		expectError(t, "enrolled member, aal1 session", second.Call("auth.oauth.list", nil), http.StatusForbidden, "mfa_required")
		wantOK(t, "step-up", second.Call("auth.mfa.verify", map[string]any{"code": totpAt(t, secret, env.Clock.Now())}))
		wantOK(t, "after step-up", second.Call("auth.oauth.list", nil))

		// The last factor cannot go while the org requires MFA.
		fid := member.Get("auth.mfa.list").JSON["factors"].([]any)[0].(map[string]any)["id"]
		expectError(t, "last factor in an MFA org", member.Call("auth.mfa.delete", map[string]any{"id": fid}), http.StatusConflict, "org_requires_mfa")
		_ = ownerID
	})
}

// Removing the last factor turns MFA off: recovery codes go, and password
// sign-in is one step again.
func TestMFADeleteLastFactor(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		f1, _, _ := enrollTOTP(t, env, c)
		// A second app: not the first factor, so no new recovery codes.
		r := c.Call("auth.mfa.totp.enroll", map[string]any{})
		f2, secret2 := r.Str("factor_id"), r.Str("secret")
		r = c.Call("auth.mfa.totp.confirm", map[string]any{"factor_id": f2, "code": totpAt(t, secret2, env.Clock.Now())})
		wantOK(t, "second factor", r)
		if _, has := r.JSON["recovery_codes"]; has {
			t.Fatalf("a second factor must not reissue codes: %s", r.Body)
		}
		expectError(t, "unknown factor", c.Call("auth.mfa.delete", map[string]any{"id": "fac_nope"}), http.StatusNotFound, "not_found")
		wantOK(t, "delete one of two", c.Call("auth.mfa.delete", map[string]any{"id": f1}))
		if l := c.Get("auth.mfa.list"); len(l.JSON["factors"].([]any)) != 1 || l.JSON["recovery_codes_remaining"] != float64(10) {
			t.Fatalf("after deleting one: %s", l.Body)
		}
		wantOK(t, "delete the last", c.Call("auth.mfa.delete", map[string]any{"id": f2}))
		if l := c.Get("auth.mfa.list"); len(l.JSON["factors"].([]any)) != 0 || l.JSON["recovery_codes_remaining"] != float64(0) {
			t.Fatalf("after deleting the last: %s", l.Body)
		}
		_, r = login(t, env, "ada@example.com", pw)
		wantAssurance(t, env, "MFA off", r.Str("access_token"), "aal1", "pwd")
		if !slices.Contains(auditActions(t, env, user(t, env, "ada@example.com").ID), "mfa.removed") {
			t.Fatal("mfa.removed not audited")
		}
	})
}

// Enrollment details: a wrong code, another user's factor, an expired
// enrollment, and a factor that is only pending signs nothing.
func TestMFAEnrollment(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		r := c.Call("auth.mfa.totp.enroll", map[string]any{})
		fid, secret := r.Str("factor_id"), r.Str("secret")
		expectError(t, "wrong code", c.Call("auth.mfa.totp.confirm", map[string]any{"factor_id": fid, "code": wrongTOTP(t, env, secret)}), http.StatusBadRequest, "invalid_code")
		// Pending: sign-in still takes one step.
		login(t, env, "ada@example.com", pw)
		other := env.Client(t)
		other.Register("eve@example.com", pw)
		wantField(t, "someone else's factor", other.Call("auth.mfa.totp.confirm", map[string]any{"factor_id": fid, "code": totpAt(t, secret, env.Clock.Now())}), "factor_id")
		env.Clock.Advance(16 * time.Minute)
		wantOK(t, "refresh", c.Call("auth.refresh", nil))
		wantField(t, "expired enrollment", c.Call("auth.mfa.totp.confirm", map[string]any{"factor_id": fid, "code": totpAt(t, secret, env.Clock.Now())}), "factor_id")
	})
}

// Hostile and malformed input to every MFA operation is a 4xx, never a 5xx.
func TestMFAHostileInput(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		long := strings.Repeat("9", 5000)
		for _, tc := range []struct {
			op     string
			body   any
			status int
		}{
			{"auth.mfa.verify", map[string]any{}, 400},
			{"auth.mfa.verify", map[string]any{"code": 123456}, 400},
			{"auth.mfa.verify", map[string]any{"mfa_token": long, "code": "123456"}, 400},
			{"auth.mfa.verify", map[string]any{"mfa_token": "nope", "code": "123456"}, 400},
			{"auth.mfa.verify", map[string]any{"code": long}, 400},
			{"auth.mfa.verify", map[string]any{"code": "12345\u0000"}, 400},
			{"auth.mfa.verify", map[string]any{"challenge_id": "chl_x", "credential": map[string]any{"id": "x"}}, 404}, // passkeys are off here
			{"auth.mfa.verify", map[string]any{"factor_id": "fac_unknown", "code": "123456"}, 400},
			{"auth.mfa.verify", map[string]any{"extra": true}, 400},
			{"auth.mfa.passkey.begin", map[string]any{"mfa_token": "nope"}, 404},
			{"auth.mfa.totp.enroll", map[string]any{"name": strings.Repeat("n", 500)}, 400},
			{"auth.mfa.totp.enroll", map[string]any{"name": 7}, 400},
			{"auth.mfa.totp.confirm", map[string]any{}, 400},
			{"auth.mfa.totp.confirm", map[string]any{"factor_id": "fac_x", "code": "123456"}, 400},
			{"auth.mfa.totp.confirm", map[string]any{"factor_id": long, "code": long}, 400},
			{"auth.mfa.delete", map[string]any{}, 400},
			{"auth.mfa.delete", map[string]any{"id": []string{"x"}}, 400},
			{"auth.mfa.recovery_codes.regenerate", map[string]any{}, 403},
			{"org.settings.update", map[string]any{}, 400},
			{"org.settings.update", map[string]any{"require_mfa": "yes"}, 400},
		} {
			r := c.Call(tc.op, tc.body)
			if r.Status != tc.status {
				t.Errorf("%s %v: %d %s, want %d", tc.op, tc.body, r.Status, r.Body, tc.status)
			}
			if r.Status >= 400 {
				checkEnvelope(t, tc.op, r)
			}
		}
		// Anonymous callers reach only the mfa_token paths.
		anon := env.Client(t)
		expectError(t, "anonymous verify without a token", anon.Call("auth.mfa.verify", map[string]any{"code": "123456"}), http.StatusUnauthorized, "unauthenticated")
		expectError(t, "anonymous enroll", anon.Call("auth.mfa.totp.enroll", map[string]any{}), http.StatusUnauthorized, "unauthenticated")
	})
}

// SSO sign-ins are exempt from the second factor and satisfy an org's
// MFA policy: the identity provider owns MFA for its users.
func TestMFASSOExempt(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newSSOEnv(t, db, "dana@beta.test")
		idp := oauthtest.NewOIDC(t)
		conn := e.createConnection(t, map[string]any{
			"protocol": "oidc", "domains": []string{"beta.test"}, "enforced": false,
			"issuer": idp.URL, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
		})
		startURL, _ := conn["start_url"].(string)
		enrollTOTP(t, e.env, e.owner)
		wantOK(t, "require MFA", e.owner.Call("org.settings.update", map[string]any{"require_mfa": true}))

		// The owner has MFA on, yet signs in through SSO in one step.
		idp.SetUser(oauthtest.User{Subject: "entra-dana", Email: "dana@beta.test", EmailVerified: true})
		b := e.env.Client(t)
		e.exchange(t, b, e.oidcSignIn(t, b, startURL))
		me := b.Get("auth.me")
		if me.Str("aal") != "aal1" || strings.Join(strs(me.JSON["amr"]), " ") != "fed" || me.Obj("mfa")["enrolled"] != true {
			t.Fatalf("SSO session of a user with MFA: %s", me.Body)
		}
		wantOK(t, "SSO session meets the policy", b.Get("org.members.list"))

		// A member created by SSO, with no factor, is not sent to enroll.
		idp.SetUser(oauthtest.User{Subject: "entra-carol", Email: "carol@beta.test", EmailVerified: true})
		c := e.env.Client(t)
		e.exchange(t, c, e.oidcSignIn(t, c, startURL))
		wantOK(t, "SSO member without a factor", c.Call("auth.oauth.list", nil))
	})
}
