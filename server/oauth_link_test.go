package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
)

// startLink calls auth.oauth.link.start in browser c and returns the URL
// it hands back.
func startLink(t *testing.T, c *latchkeytest.Client, provider string) *url.URL {
	t.Helper()
	r := c.Call("auth.oauth.link.start", map[string]any{"provider": provider, "redirect_to": "/account"})
	if r.Status != http.StatusOK {
		t.Fatalf("link.start: %d %s", r.Status, r.Body)
	}
	ck := r.Cookie("linking_user_id")
	if ck == nil || !ck.HttpOnly || ck.MaxAge <= 0 || ck.MaxAge > 600 {
		t.Fatalf("link.start cookie = %+v, want HttpOnly for at most 10 minutes", ck)
	}
	u, err := url.Parse(r.Str("authorize_url"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// setCookie puts a cookie in the browser's jar for the server's origin.
func setCookie(t *testing.T, c *latchkeytest.Client, name, value string) {
	t.Helper()
	u, _ := url.Parse(c.Base + "/oauth/")
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/oauth/"}})
}

func TestOAuthLinkAndUnlink(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		c := e.Client(t)
		c.Register("lin@example.com", "correct horse battery")
		e.idp.SetUser(oauthtest.User{Subject: "lin-acme", Email: "someone-else@example.com", EmailVerified: true})

		authorize := startLink(t, c, "acme")
		loc := visit(t, c, e.oauthCallbackFor(t, c, authorize))
		if loc.String() != e.URL+"/account" {
			t.Fatalf("link ended at %s, want the redirect_to on the dashboard", loc)
		}
		ids := e.identities(t, c)
		if len(ids) != 1 || ids[0].(map[string]any)["provider"] != "acme" || ids[0].(map[string]any)["can_unlink"] != true {
			t.Fatalf("identities after link = %v", ids)
		}
		// The linked identity now signs in to this account.
		me := c.Get("auth.me").Obj("user")["id"]
		if u := e.signInAndExchange(t, e.Client(t), "acme"); u["id"] != me {
			t.Fatalf("sign-in with the linked identity reached %v, want %v", u["id"], me)
		}

		if r := c.Call("auth.oauth.unlink", map[string]any{"provider": "acme"}); r.Status != http.StatusOK {
			t.Fatalf("unlink: %d %s", r.Status, r.Body)
		}
		if r := c.Call("auth.oauth.unlink", map[string]any{"provider": "acme"}); r.Status != http.StatusNotFound || r.Code() != "not_linked" {
			t.Fatalf("unlink again: %d %s, want 404 not_linked", r.Status, r.Body)
		}
	})
}

// oauthCallbackFor follows a link's authorize_url through the provider and
// returns the callback URL.
func (e *oauthEnv) oauthCallbackFor(t *testing.T, c *latchkeytest.Client, authorize *url.URL) string {
	t.Helper()
	return e.providerTrip(t, c, authorize.RequestURI()).String()
}

func TestOAuthUnlinkGuard(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		c := e.Client(t)
		e.signInAndExchange(t, c, "acme") // an account whose only method is acme
		if r := c.Call("auth.oauth.unlink", map[string]any{"provider": "acme"}); r.Status != http.StatusConflict || r.Code() != "last_auth_method" {
			t.Fatalf("unlink of the only method: %d %s, want 409 last_auth_method", r.Status, r.Body)
		}
		if r := c.Call("auth.password.set", map[string]any{"password": "correct horse battery"}); r.Status != http.StatusOK {
			t.Fatalf("password.set: %d %s", r.Status, r.Body)
		}
		if ids := e.identities(t, c); ids[0].(map[string]any)["can_unlink"] != true {
			t.Fatalf("with a password the identity must be unlinkable: %v", ids)
		}
		if r := c.Call("auth.oauth.unlink", map[string]any{"provider": "acme"}); r.Status != http.StatusOK {
			t.Fatalf("unlink with a password: %d %s", r.Status, r.Body)
		}
	})
}

func TestOAuthUnlinkWithAPasskeyLeft(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	c := e.Client(t)
	id := e.signInAndExchange(t, c, "acme")["id"].(string)
	// A passkey stored as auth.passkey.register.finish would store it.
	err := e.Store.CreatePasskey(context.Background(), latchkey.PasskeyCredential{
		ID: "cred_test", UserID: id, Name: "laptop", CredentialID: []byte("credential-1"), PublicKey: []byte{1},
		Transports: []string{}, AAGUID: make([]byte, 16), CreatedAt: e.Clock.Now().UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Call("auth.oauth.unlink", map[string]any{"provider": "acme"}); r.Status != http.StatusOK {
		t.Fatalf("unlink with a passkey left: %d %s", r.Status, r.Body)
	}
}

func TestOAuthForgedOrReplayedLinkingCookie(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		victim := e.Client(t)
		victimID := victim.Register("victim@example.com", "correct horse battery").Obj("user")["id"].(string)
		e.idp.SetUser(oauthtest.User{Subject: "attacker", Email: "attacker@example.com", EmailVerified: true})

		for _, forged := range []string{victimID, "not-a-handle", ""} {
			attacker := e.Client(t)
			setCookie(t, attacker, "linking_user_id", forged)
			loc := visit(t, attacker, e.URL+"/oauth/acme/start")
			if forged != "" {
				wantLoginError(t, loc, "invalid_link")
			}
		}
		if ids := e.identities(t, victim); len(ids) != 0 {
			t.Fatalf("a forged cookie linked %v to the victim", ids)
		}

		// A genuine handle works once; replayed, it links nothing.
		authorize := startLink(t, victim, "acme")
		handle := ""
		for _, ck := range victim.HTTP.Jar.Cookies(authorize) {
			if ck.Name == "linking_user_id" {
				handle = ck.Value
			}
		}
		if handle == "" {
			t.Fatal("the jar has no linking cookie for the start URL")
		}
		if _, err := e.Store.UserByID(context.Background(), handle); err == nil {
			t.Fatal("the linking cookie holds a user id")
		}
		visit(t, victim, e.oauthCallbackFor(t, victim, authorize))
		if r := victim.Call("auth.oauth.unlink", map[string]any{"provider": "acme"}); r.Status != http.StatusOK {
			t.Fatalf("unlink: %d %s", r.Status, r.Body)
		}
		attacker := e.Client(t)
		setCookie(t, attacker, "linking_user_id", handle)
		wantLoginError(t, visit(t, attacker, e.URL+"/oauth/acme/start"), "invalid_link")
		if ids := e.identities(t, victim); len(ids) != 0 {
			t.Fatalf("a replayed cookie linked %v", ids)
		}
	})
}

func TestOAuthTransfer(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		e.idp.SetUser(oauthtest.User{Subject: "shared", Email: "first@example.com", EmailVerified: true})
		first := e.Client(t)
		e.signInAndExchange(t, first, "acme") // first's only method is this identity

		second := e.Client(t)
		second.Register("second@example.com", "correct horse battery")
		loc := visit(t, second, e.oauthCallbackFor(t, second, startLink(t, second, "acme")))
		token := loc.Query().Get("token")
		if loc.Path != "/auth/transfer" || token == "" {
			t.Fatalf("linking an identity of another account ended at %s, want /auth/transfer?token=", loc)
		}

		stranger := e.Client(t)
		stranger.Register("stranger@example.com", "correct horse battery")
		if r := stranger.Call("auth.oauth.transfer.confirm", map[string]any{"token": token}); r.Status != http.StatusForbidden || r.Code() != "forbidden" {
			t.Fatalf("confirm by the wrong user: %d %s, want 403 forbidden", r.Status, r.Body)
		}
		if r := second.Call("auth.oauth.transfer.confirm", map[string]any{"token": token}); r.Status != http.StatusConflict || r.Code() != "last_auth_method" {
			t.Fatalf("confirm that strands the first account: %d %s, want 409 last_auth_method", r.Status, r.Body)
		}
		if r := first.Call("auth.password.set", map[string]any{"password": "correct horse battery"}); r.Status != http.StatusOK {
			t.Fatalf("password.set: %d %s", r.Status, r.Body)
		}
		if r := second.Call("auth.oauth.transfer.confirm", map[string]any{"token": token}); r.Status != http.StatusOK {
			t.Fatalf("confirm by the right user: %d %s", r.Status, r.Body)
		}
		if ids := e.identities(t, second); len(ids) != 1 {
			t.Errorf("second's identities = %v, want the moved one", ids)
		}
		if ids := e.identities(t, first); len(ids) != 0 {
			t.Errorf("first's identities = %v, want none", ids)
		}
		if r := second.Call("auth.oauth.transfer.confirm", map[string]any{"token": token}); r.Status != http.StatusBadRequest || r.Code() != "invalid_token" {
			t.Fatalf("reused transfer token: %d %s, want 400 invalid_token", r.Status, r.Body)
		}
		me := second.Get("auth.me").Obj("user")["id"]
		if u := e.signInAndExchange(t, e.Client(t), "acme"); u["id"] != me {
			t.Errorf("after the transfer the identity signs in to %v, want %v", u["id"], me)
		}
	})
}
