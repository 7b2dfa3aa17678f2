package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

func TestSmokeRegisterMeRefreshLogout(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c := env.Client(t)
		reg := c.Register("ada@example.com", "correct horse battery")
		if reg.Obj("user")["email"] != "ada@example.com" {
			t.Fatalf("register body: %s", reg.Body)
		}
		me := c.Get("auth.me")
		if me.Status != http.StatusOK || me.Str("credential") != "session" {
			t.Fatalf("me by cookie: %d %s", me.Status, me.Body)
		}
		ref := c.Call("auth.refresh", nil)
		if ref.Status != http.StatusOK || ref.Cookie("latchkey_refresh") == nil {
			t.Fatalf("refresh: %d %s", ref.Status, ref.Body)
		}
		out := c.Call("auth.logout", map[string]any{})
		if out.Status != http.StatusOK {
			t.Fatalf("logout: %d %s", out.Status, out.Body)
		}
		bearer := env.Client(t)
		bearer.Bearer = reg.Str("access_token")
		if r := bearer.Get("auth.me"); r.Status != http.StatusUnauthorized || r.Code() != "invalid_token" {
			t.Fatalf("me after logout: %d %s", r.Status, r.Body)
		}
	})
}
