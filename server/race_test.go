package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
)

// racers is how many requests redeem the same secret at once.
const racers = 8

// race runs redeem racers times at once, each with its own client, and
// fails unless exactly one attempt succeeded and none failed with a 5xx.
func race(t *testing.T, env *latchkeytest.Env, what string, redeem func(c *latchkeytest.Client) (*latchkeytest.Response, bool)) {
	t.Helper()
	clients := make([]*latchkeytest.Client, racers)
	for i := range clients {
		clients[i] = env.Client(t)
	}
	var wg sync.WaitGroup
	results := make([]*latchkeytest.Response, racers)
	wins := make([]bool, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			results[i], wins[i] = redeem(clients[i])
		})
	}
	close(start)
	wg.Wait()
	n := 0
	for i, r := range results {
		if r.Status >= 500 {
			t.Errorf("%s: a concurrent redemption failed with %d: %s", what, r.Status, r.Body)
		}
		if wins[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s: %d of %d concurrent redemptions succeeded, want exactly 1", what, n, racers)
	}
}

func TestConcurrentRedemptionOfResetAndInvitationTokens(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		env.register(t, "racer@example.com") // reads the first code mail, so Next finds the reset link

		want(t, "reset request", env.Client(t).Call("auth.password.reset.request", map[string]any{"email": "racer@example.com"}), http.StatusOK, "")
		reset := tokenOf(t, env.SMTP.Next(t, "racer@example.com"), env.URL+"/reset-password")
		race(t, env.Env, "reset token", func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
			r := c.Call("auth.password.reset.complete", map[string]any{"token": reset, "new_password": "brand new secret 42"})
			return r, r.Status == http.StatusOK
		})

		owner := env.Client(t)
		want(t, "login", owner.Call("auth.login", map[string]any{"email": "racer@example.com", "password": "brand new secret 42"}), http.StatusOK, "")
		_, inv := env.invite(t, owner, "newcomer@example.com", "member")
		race(t, env.Env, "invitation token", func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
			r := c.Call("auth.complete_invitation", map[string]any{"token": inv, "password": "correct horse battery"})
			return r, r.Status == http.StatusOK
		})
	})
}

func TestConcurrentRedemptionOfAnEmailCode(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		user, _, code := env.register(t, "coder@example.com")
		access := user.Call("auth.login", map[string]any{"email": "coder@example.com", "password": "correct horse battery"}).Str("access_token")
		race(t, env.Env, "email code", func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
			c.Bearer = access
			r := c.Call("auth.email.verify", map[string]any{"code": code})
			return r, r.Status == http.StatusOK
		})
	})
}

func TestConcurrentRedemptionOfADashboardToken(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		owner := env.Client(t)
		owner.Register("dash@example.com", "correct horse battery")
		key := owner.Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"org:admin"}})
		want(t, "create key", key, http.StatusOK, "")
		k := env.Client(t)
		k.Bearer = key.Str("secret")
		tok := k.Call("auth.dashboard_token.create", map[string]any{})
		want(t, "dashboard token", tok, http.StatusOK, "")
		race(t, env, "dashboard token", func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
			r := c.Do(http.MethodGet, "/v1/auth.dashboard_token.exchange?token="+url.QueryEscape(tok.Str("token")), nil, nil)
			return r, r.Status == http.StatusFound && !strings.HasSuffix(r.Header.Get("Location"), "/login") && r.Cookie("latchkey_access") != nil
		})
	})
}

func TestConcurrentRedemptionOfAnOAuthCode(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		loc := e.signIn(t, e.Client(t), "acme")
		code := loc.Query().Get("code")
		if code == "" {
			t.Fatalf("sign-in ended at %s, want a code", loc)
		}
		race(t, e.Env, "OAuth exchange code", func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
			r := c.Call("auth.oauth.exchange", map[string]any{"code": code})
			return r, r.Status == http.StatusOK
		})
	})
}

func TestConcurrentRedemptionOfAPasskeyChallenge(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		pe := newPasskeyEnv(t, db)
		a := pe.authenticator()
		signUp(t, pe.Client(t), a, "keyed@example.com")
		id, opts := begin(t, pe.Client(t), "auth.passkey.login.begin", map[string]any{"email": "keyed@example.com"})
		cred, err := a.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		race(t, pe.Env, "passkey login challenge", func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
			r := finish(c, "auth.passkey.login.finish", id, cred, nil)
			return r, r.Status == http.StatusOK
		})
	})
}

// TestConcurrentWrongCodesSpendTheAttemptLimit: twenty wrong guesses at
// once get at most five invalid_code answers; the rest, and then the right
// code, get code_expired.
func TestConcurrentWrongCodesSpendTheAttemptLimit(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		user, _, code := env.register(t, "guesser@example.com")
		access := user.Call("auth.login", map[string]any{"email": "guesser@example.com", "password": "correct horse battery"}).Str("access_token")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[string]int{}
		start := make(chan struct{})
		for range 20 {
			c := env.Client(t)
			c.Bearer = access
			wg.Go(func() {
				<-start
				r := c.Call("auth.email.verify", map[string]any{"code": wrong})
				mu.Lock()
				counts[r.Code()]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if counts["invalid_code"] != 5 || counts["code_expired"] != 15 {
			t.Errorf("20 concurrent wrong codes answered %v, want 5 invalid_code and 15 code_expired", counts)
		}
		c := env.Client(t)
		c.Bearer = access
		want(t, "the right code after the limit", c.Call("auth.email.verify", map[string]any{"code": code}), http.StatusBadRequest, "code_expired")
	})
}

// TestConcurrentSignUpsOfOneAddress: eight sign-ups of one address at
// once make one account; the others are told the address is taken.
func TestConcurrentSignUpsOfOneAddress(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		for _, op := range []string{"auth.register", "auth.login_or_register"} {
			email := strings.ReplaceAll(op, ".", "-") + "@example.com"
			race(t, env, op, func(c *latchkeytest.Client) (*latchkeytest.Response, bool) {
				r := c.Call(op, map[string]any{"email": email, "password": "correct horse battery"})
				if r.Status != http.StatusOK && r.Code() != "email_taken" {
					t.Errorf("%s: %d %s, want 200 or 409 email_taken", op, r.Status, r.Body)
				}
				created := r.Status == http.StatusOK && (op == "auth.register" || r.JSON["created"] == true)
				return r, created
			})
		}
	})
}

// TestConcurrentDeletionsKeepAnOwner: the two owners of an org with
// another member delete their accounts at once; one must be refused, so
// the org keeps an owner.
func TestConcurrentDeletionsKeepAnOwner(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		for round := range 3 {
			a, _, _ := env.register(t, "owner-a"+itoa(round)+"@example.com")
			join := func(email, role string) *latchkeytest.Client {
				t.Helper()
				_, tok := env.invite(t, a, email, role)
				c := env.Client(t)
				want(t, "join "+email, c.Call("auth.complete_invitation", map[string]any{"token": tok, "password": "correct horse battery"}), http.StatusOK, "")
				return c
			}
			b := join("owner-b"+itoa(round)+"@example.com", "admin")
			bID, _ := b.Get("auth.me").Obj("user")["id"].(string)
			want(t, "promote b", a.Call("org.members.update_role", map[string]any{"user_id": bID, "role": "owner"}), http.StatusOK, "")
			join("member-c"+itoa(round)+"@example.com", "member")

			var calls []func() *latchkeytest.Response
			for _, c := range []*latchkeytest.Client{a, b} {
				calls = append(calls, func() *latchkeytest.Response {
					return c.Call("auth.account.delete", map[string]any{"password": "correct horse battery"})
				})
			}
			if ok := countOK(t, "delete", atOnce(calls...), "org_has_other_members"); ok != 1 {
				t.Errorf("round %d: %d of the two owners deleted their accounts at once, want 1", round, ok)
			}
		}
	})
}

// TestConcurrentPasskeyDeletionsKeepASignInMethod: a password-less user
// deletes both their passkeys at once; one must be refused as the last
// way to sign in.
func TestConcurrentPasskeyDeletionsKeepASignInMethod(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		pe := newPasskeyEnv(t, db)
		for round := range 3 {
			c := pe.Client(t)
			signUp(t, c, pe.authenticator(), "two-keys"+itoa(round)+"@example.com")
			addPasskey(t, c, pe.authenticator(), "second")
			keys := listPasskeys(t, c)
			if len(keys) != 2 {
				t.Fatalf("%d passkeys, want 2", len(keys))
			}
			var calls []func() *latchkeytest.Response
			for _, k := range keys {
				calls = append(calls, func() *latchkeytest.Response { return c.Call("auth.passkey.delete", map[string]any{"id": k["id"]}) })
			}
			if ok := countOK(t, "delete", atOnce(calls...), "last_auth_method"); ok != 1 {
				t.Errorf("round %d: %d of two concurrent deletions of the last two passkeys succeeded, want 1", round, ok)
			}
		}
	})
}

// TestConcurrentUnlinksKeepASignInMethod: an account whose only ways in
// are two providers unlinks both at once; one must be refused.
func TestConcurrentUnlinksKeepASignInMethod(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		for round := range 3 {
			c := e.Client(t)
			e.idp.SetUser(oauthtest.User{Subject: "two-" + itoa(round), Email: "two-providers" + itoa(round) + "@example.com", EmailVerified: true})
			e.signInAndExchange(t, c, "acme")
			e.gh.SetUser(oauthtest.GitHubUser{ID: int64(1000 + round), Login: "two" + itoa(round)})
			visit(t, c, e.oauthCallbackFor(t, c, startLink(t, c, "github")))
			if ids := e.identities(t, c); len(ids) != 2 {
				t.Fatalf("identities = %v, want acme and github", ids)
			}
			var calls []func() *latchkeytest.Response
			for _, p := range []string{"acme", "github"} {
				calls = append(calls, func() *latchkeytest.Response { return c.Call("auth.oauth.unlink", map[string]any{"provider": p}) })
			}
			if ok := countOK(t, "unlink", atOnce(calls...), "last_auth_method"); ok != 1 {
				t.Errorf("round %d: %d of two concurrent unlinks of the last two identities succeeded, want 1", round, ok)
			}
		}
	})
}

// atOnce runs the calls at the same moment and returns their responses.
func atOnce(calls ...func() *latchkeytest.Response) []*latchkeytest.Response {
	var wg sync.WaitGroup
	results := make([]*latchkeytest.Response, len(calls))
	start := make(chan struct{})
	for i, call := range calls {
		wg.Go(func() {
			<-start
			results[i] = call()
		})
	}
	close(start)
	wg.Wait()
	return results
}

// countOK counts the 200s among results; every other answer must be the
// refusal code.
func countOK(t *testing.T, what string, results []*latchkeytest.Response, refusal string) int {
	t.Helper()
	ok := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK:
			ok++
		case r.Code() != refusal:
			t.Errorf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	return ok
}

// TestRefreshDuringUserWrites: a browser keeps refreshing while another
// session of the same user deletes the account or changes the password.
// Each refresh answers 200 or, once its session is gone or revoked, 401;
// the other call answers 200. On PostgreSQL those flows lock the user,
// then its sessions, then their refresh tokens; a refresh that locked in
// another order deadlocked against them, and the deadlock surfaced as a
// 500.
func TestRefreshDuringUserWrites(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		for _, tc := range []struct {
			name string
			call func(c *latchkeytest.Client) *latchkeytest.Response
		}{
			{"account deletion", func(c *latchkeytest.Client) *latchkeytest.Response {
				return c.Call("auth.account.delete", map[string]any{"password": pw})
			}},
			{"password change", func(c *latchkeytest.Client) *latchkeytest.Response {
				return c.Call("auth.password.change", map[string]any{"current_password": pw, "new_password": "another good secret 9"})
			}},
		} {
			for i := range 10 {
				email := fmt.Sprintf("busy%d-%d@example.com", len(tc.name), i)
				owner, browser := env.Client(t), env.Client(t)
				wantOK(t, "register", owner.Register(email, pw))
				wantOK(t, "login", browser.Call("auth.login", map[string]any{"email": email, "password": pw}))
				done := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					defer close(done)
					wantOK(t, tc.name, tc.call(owner))
				})
				wg.Go(func() {
					for range 500 {
						r := browser.Call("auth.refresh", nil)
						if r.Status != http.StatusOK && r.Status != http.StatusUnauthorized {
							t.Errorf("refresh during %s: %d %s", tc.name, r.Status, r.Body)
						}
						select {
						case <-done:
							return
						default:
						}
					}
				})
				wg.Wait()
			}
		}
	})
}
