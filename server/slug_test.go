package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestOrgsWithTheSameName: sign-ups whose orgs get the same name (given,
// or derived from the same local part) all succeed, each org with its own
// slug. On PostgreSQL the taken slug once aborted the transaction: a 500.
func TestOrgsWithTheSameName(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		slugs := map[string]bool{}
		for i := range 6 {
			body := map[string]any{"email": "acme" + itoa(i) + "@example.com", "password": "correct horse battery", "org_name": "Acme"}
			if i >= 3 {
				body = map[string]any{"email": "bob@host" + itoa(i) + ".example.com", "password": "correct horse battery"}
			}
			c := env.Client(t)
			r := c.Call("auth.register", body)
			if r.Status != http.StatusOK {
				t.Fatalf("sign-up %d: %d %s", i, r.Status, r.Body)
			}
			slug, _ := c.Get("auth.me").Obj("org")["slug"].(string)
			if slug == "" || slugs[slug] {
				t.Errorf("sign-up %d: org slug %q, want a new one", i, slug)
			}
			slugs[slug] = true
		}
	})
}
