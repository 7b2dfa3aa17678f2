package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
)

// sameIssuerOpts makes nodes on one database accept each other's tokens.
func sameIssuerOpts(db latchkeytest.Database) latchkeytest.Options {
	return latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) { c.Issuer = "https://issuer.example.com" }}
}

func adminKey(t *testing.T, env *latchkeytest.Env) *latchkeytest.Client {
	t.Helper()
	_, sec, err := env.Service.CreateAdminKey(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return bearer(t, env, sec.Reveal())
}

// Disabling on one node kills the user's sessions on the other at its
// next request, and every way back in answers 403 account_disabled.
func TestDisableAcrossNodes(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		node1 := latchkeytest.New(t, sameIssuerOpts(db))
		node2 := latchkeytest.New(t, sameIssuerOpts(db))
		admin := adminKey(t, node1)
		owner := node1.Client(t)
		owner.Register("dora@example.com", pw)
		orgKey, _ := newKey(t, owner, "api:read", "org:admin")
		other, r := login(t, node2, "dora@example.com", pw)
		tok, refresh := r.Str("access_token"), r.Str("refresh_token")
		wantOK(t, "node 2 before", bearer(t, node2, tok).Get("auth.me"))
		dora := user(t, node1, "dora@example.com")

		r = admin.Call("admin.users.disable", map[string]any{"user_id": dora.ID, "reason": "abuse report #12"})
		wantOK(t, "disable", r)
		if u := r.Obj("user"); u["disabled"] != true || u["disabled_reason"] != "abuse report #12" || u["disabled_at"] == nil {
			t.Fatalf("disable answered %s", r.Body)
		}
		wantTokenDead(t, node2, "node 2 bearer after disable", tok)
		expectError(t, "node 2 cookie after disable", other.Get("auth.me"), 401, "invalid_token")
		expectError(t, "node 1 cookie after disable", owner.Get("auth.me"), 401, "invalid_token")
		expectError(t, "refresh after disable", refreshWith(t, node2, refresh), 403, "account_disabled")
		expectError(t, "login after disable", node2.Client(t).Call("auth.login", map[string]any{"email": "dora@example.com", "password": pw}), 403, "account_disabled")
		expectError(t, "login_or_register after disable", node1.Client(t).Call("auth.login_or_register", map[string]any{"email": "dora@example.com", "password": pw}), 403, "account_disabled")
		// A wrong password still says only that: no hint the account exists.
		expectError(t, "wrong password", node2.Client(t).Call("auth.login", map[string]any{"email": "dora@example.com", "password": "nope nope nope"}), 401, "invalid_credentials")
		// Org API keys belong to the org and stay.
		wantOK(t, "org key after disable", bearer(t, node2, orgKey).Get("auth.me"))
		expectError(t, "dashboard token of a disabled first member", bearer(t, node2, orgKey).Call("auth.dashboard_token.create", map[string]any{}), 403, "account_disabled")

		again := admin.Call("admin.users.disable", map[string]any{"user_id": dora.ID, "reason": "second"})
		wantOK(t, "disable twice", again)
		if again.Obj("user")["disabled_reason"] != "abuse report #12" {
			t.Errorf("disabling again replaced the first reason: %s", again.Body)
		}
		r = admin.Call("admin.users.enable", map[string]any{"user_id": dora.ID})
		wantOK(t, "enable", r)
		if u := r.Obj("user"); u["disabled"] != false || u["disabled_at"] != nil {
			t.Fatalf("enable answered %s", r.Body)
		}
		wantTokenDead(t, node2, "old token after enable", tok)
		login(t, node2, "dora@example.com", pw)
	})
}

// Every other sign-in path: passkey, OAuth, SSO, invitation, reset.
func TestDisabledUserCannotSignInAnyWay(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		t.Run("passkey", func(t *testing.T) {
			pe := newPasskeyEnv(t, freshDB(t, db))
			a := pe.authenticator()
			signUp(t, pe.Client(t), a, "pia@example.com")
			disable(t, pe.Env, "pia@example.com")
			expectError(t, "passkey sign-in", signIn(t, pe.Client(t), a, "pia@example.com"), 403, "account_disabled")
			expectError(t, "discoverable passkey sign-in", signIn(t, pe.Client(t), a, ""), 403, "account_disabled")
		})
		t.Run("oauth", func(t *testing.T) {
			e := newOAuthEnv(t, freshDB(t, db))
			e.idp.SetUser(oauthtest.User{Subject: "o-1", Email: "oli@example.com", EmailVerified: true, Name: "Oli"})
			e.signInAndExchange(t, e.Client(t), "acme")
			disable(t, e.Env, "oli@example.com")
			c := e.Client(t)
			loc := e.signIn(t, c, "acme")
			r := c.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")})
			expectError(t, "OAuth exchange", r, 403, "account_disabled")
			if r.Cookie("latchkey_access") != nil {
				t.Error("a cookie was set for a disabled account")
			}
		})
		t.Run("sso", func(t *testing.T) {
			e := newSSOEnv(t, freshDB(t, db), "sam@gamma.test")
			idp := oauthtest.NewOIDC(t)
			conn := e.createConnection(t, map[string]any{
				"protocol": "oidc", "domains": []string{"gamma.test"}, "enforced": false,
				"issuer": idp.URL, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
			})
			idp.SetUser(oauthtest.User{Subject: "s-1", Email: "sue@gamma.test", EmailVerified: true, Name: "Sue"})
			b := e.env.Client(t)
			e.exchange(t, b, e.oidcSignIn(t, b, conn["start_url"].(string)))
			disable(t, e.env, "sue@gamma.test")
			c := e.env.Client(t)
			loc := e.oidcSignIn(t, c, conn["start_url"].(string))
			expectError(t, "SSO exchange", c.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")}), 403, "account_disabled")
		})
		t.Run("invitation and reset", func(t *testing.T) {
			env := startMailEnv(t, freshDB(t, db), nil)
			owner, _, _ := env.register(t, "boss@example.com")
			invitee, _, _ := env.register(t, "ivy@example.com")
			_, token := env.invite(t, owner, "ivy@example.com", "member")
			anon := env.Client(t)
			want(t, "reset request", anon.Call("auth.password.reset.request", map[string]any{"email": "ivy@example.com"}), http.StatusOK, "")
			resetToken := tokenOf(t, env.SMTP.Next(t, "ivy@example.com"), env.URL+"/reset-password")
			disable(t, env.Env, "ivy@example.com")
			expectError(t, "invitation", invitee.Call("auth.complete_invitation", map[string]any{"token": token}), 403, "account_disabled")
			expectError(t, "invitation, anonymous", anon.Call("auth.complete_invitation", map[string]any{"token": token}), 403, "account_disabled")
			expectError(t, "reset completion", anon.Call("auth.password.reset.complete", map[string]any{"token": resetToken, "new_password": "brand new secret 42"}), 403, "account_disabled")
			expectError(t, "login with the old password", anon.Call("auth.login", map[string]any{"email": "ivy@example.com", "password": pw}), 403, "account_disabled")
		})
	})
}

// disable disables the user with this email through the admin API.
func disable(t *testing.T, env *latchkeytest.Env, email string) {
	t.Helper()
	wantOK(t, "disable "+email, adminKey(t, env).Call("admin.users.disable", map[string]any{"user_id": user(t, env, email).ID}))
}

func TestDisableHostile(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		for _, op := range []string{"admin.users.disable", "admin.users.enable"} {
			cases := []struct {
				name   string
				body   any
				status int
				code   string
			}{
				{"missing user_id", map[string]any{}, 400, "invalid_request"},
				{"reason not a string", map[string]any{"user_id": f.userID, "reason": 5}, 400, "invalid_request"},
				{"reason too long", map[string]any{"user_id": f.userID, "reason": strings.Repeat("r", 501)}, 400, "invalid_request"},
				{"reason with control characters", map[string]any{"user_id": f.userID, "reason": "a\x1bb"}, 400, "invalid_request"},
				{"unknown field", map[string]any{"user_id": f.userID, "until": "tomorrow"}, 400, "invalid_request"},
				{"unknown user", map[string]any{"user_id": "usr_nobody"}, 404, "not_found"},
				{"org id", map[string]any{"user_id": f.orgID}, 404, "not_found"},
			}
			for _, c := range cases {
				expectError(t, op+": "+c.name, admin.Call(op, c.body), c.status, c.code)
			}
		}
		wantTokenWorks(t, env, "nothing was disabled by the hostile calls", f.userTok)
	})
}

// freshDB is a new database of db's kind, for a subtest's own server.
func freshDB(t *testing.T, db latchkeytest.Database) latchkeytest.Database {
	t.Helper()
	if db.Name == "postgres" {
		return latchkeytest.Postgres(t)
	}
	return latchkeytest.SQLite(t)
}

// Sign-ins racing a disable leave no live session behind: each either
// finishes before the disable (which then revokes it) or sees it.
func TestDisableRacesSignIns(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		admin := adminKey(t, env)
		env.Client(t).Register("rae@example.com", pw)
		rae := user(t, env, "rae@example.com")
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					r := env.Client(t).Call("auth.login", map[string]any{"email": "rae@example.com", "password": pw})
					if r.Status != 200 && r.Code() != "account_disabled" {
						t.Errorf("login during disable: %d %s", r.Status, r.Body)
						return
					}
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		wantOK(t, "disable", admin.Call("admin.users.disable", map[string]any{"user_id": rae.ID}))
		time.Sleep(50 * time.Millisecond)
		close(stop)
		wg.Wait()
		live, err := env.Store.ActiveSessions(context.Background(), rae.ID, env.Service.Now())
		if err != nil || len(live) != 0 {
			t.Fatalf("%d live sessions after the disable (%v)", len(live), err)
		}
	})
}
