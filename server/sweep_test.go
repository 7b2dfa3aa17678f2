package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/secret"
)

// TestAbandonedChallengesAreSwept: a one-time secret that nobody redeems
// does not stay in the database forever; a live one is left alone.
func TestAbandonedChallengesAreSwept(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		owner := env.Client(t)
		owner.Register("sweep@example.com", "correct horse battery")
		key := owner.Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"org:admin"}})
		k := env.Client(t)
		k.Bearer = key.Str("secret")
		token := func() string {
			t.Helper()
			r := k.Call("auth.dashboard_token.create", map[string]any{})
			if r.Status != http.StatusOK {
				t.Fatalf("dashboard token: %d %s", r.Status, r.Body)
			}
			return r.Str("token")
		}
		ctx := context.Background()
		stored := func(tok string) bool {
			t.Helper()
			if err := env.Service.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			_, err := env.Store.ChallengeBySecret(ctx, "dashboard_token", secret.Hash(tok))
			if err != nil && !errors.Is(err, latchkey.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		abandoned := token()
		if !stored(abandoned) {
			t.Fatal("a fresh dashboard token is not stored")
		}
		env.Clock.Advance(2 * time.Hour)
		live := token()
		if stored(abandoned) {
			t.Error("a dashboard token abandoned two hours ago is still stored")
		}
		if !stored(live) {
			t.Error("the sweep deleted a live token")
		}
	})
}
