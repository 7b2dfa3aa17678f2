package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestOAuthIdentities(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		ctx := context.Background()
		st := open(t, d).Store()
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, id := range []string{"usr_a", "usr_b"} {
			if err := st.CreateUser(ctx, latchkey.User{ID: id, Email: id + "@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		gh := latchkey.OAuthIdentity{ID: "oid_1", UserID: "usr_a", Provider: "github", Subject: "42", Email: "a@example.com", CreatedAt: now}
		if err := st.CreateOAuthIdentity(ctx, gh); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			i    latchkey.OAuthIdentity
		}{
			{"same subject for another user", latchkey.OAuthIdentity{ID: "oid_2", UserID: "usr_b", Provider: "github", Subject: "42", CreatedAt: now}},
			{"second identity of a provider", latchkey.OAuthIdentity{ID: "oid_3", UserID: "usr_a", Provider: "github", Subject: "43", CreatedAt: now}},
		}
		for _, tt := range tests {
			if err := st.CreateOAuthIdentity(ctx, tt.i); !errors.Is(err, latchkey.ErrConflict) {
				t.Errorf("%s: err = %v, want ErrConflict", tt.name, err)
			}
		}
		got, err := st.OAuthIdentityBySubject(ctx, "github", "42")
		if err != nil || got != gh {
			t.Fatalf("by subject = %+v, %v; want %+v", got, err, gh)
		}
		if _, err := st.OAuthIdentityBySubject(ctx, "google", "42"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("other provider: err = %v, want ErrNotFound", err)
		}

		other := latchkey.OAuthIdentity{ID: "oid_4", UserID: "usr_b", Provider: "github", Subject: "99", CreatedAt: now}
		if err := st.CreateOAuthIdentity(ctx, other); err != nil {
			t.Fatal(err)
		}
		if err := st.MoveOAuthIdentity(ctx, "oid_1", "usr_b"); !errors.Is(err, latchkey.ErrConflict) {
			t.Errorf("move onto a user with that provider: err = %v, want ErrConflict", err)
		}
		if err := st.DeleteOAuthIdentity(ctx, "oid_4"); err != nil {
			t.Fatal(err)
		}
		if err := st.MoveOAuthIdentity(ctx, "oid_1", "usr_b"); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.OAuthIdentityBySubject(ctx, "github", "42"); got.UserID != "usr_b" {
			t.Errorf("after the move the identity belongs to %s", got.UserID)
		}
		if err := st.DeleteOAuthIdentity(ctx, "oid_4"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("delete twice: err = %v, want ErrNotFound", err)
		}
		if err := st.DeleteUser(ctx, "usr_b"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.OAuthIdentityBySubject(ctx, "github", "42"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("identity outlived its user: err = %v", err)
		}
	})
}
