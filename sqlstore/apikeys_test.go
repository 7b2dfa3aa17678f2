package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestAPIKeyStore(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		ctx := context.Background()
		st := open(t, d).Store()
		now := time.Now().UTC().Truncate(time.Microsecond)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"org_a", "org_b"} {
			must(st.CreateOrg(ctx, latchkey.Org{ID: id, Name: "Org " + id, Slug: id, CreatedAt: now}))
		}
		for _, id := range []string{"usr_owner", "usr_admin"} {
			must(st.CreateUser(ctx, latchkey.User{ID: id, Email: id + "@example.com", CreatedAt: now, UpdatedAt: now}))
		}
		must(st.CreateMembership(ctx, latchkey.Membership{UserID: "usr_owner", OrgID: "org_a", Role: latchkey.RoleOwner, CreatedAt: now}))
		must(st.CreateMembership(ctx, latchkey.Membership{UserID: "usr_admin", OrgID: "org_a", Role: latchkey.RoleAdmin, CreatedAt: now}))

		k1 := latchkey.APIKey{ID: "key_1", OrgID: "org_a", Name: "deploy", Scopes: []string{"api:read", "org:admin"},
			Prefix: "sk_live_abcd", SecretHash: "hash1", CreatedBy: "usr_admin", CreatedAt: now}
		k2 := latchkey.APIKey{ID: "key_2", OrgID: "org_a", Name: "ci", Scopes: []string{"api:write"},
			Prefix: "sk_live_efgh", SecretHash: "hash2", CreatedBy: "usr_owner", CreatedAt: now.Add(time.Second)}
		must(st.CreateAPIKey(ctx, k1))
		must(st.CreateAPIKey(ctx, k2))

		t.Run("the hash is unique", func(t *testing.T) {
			dup := k1
			dup.ID = "key_dup"
			if err := st.CreateAPIKey(ctx, dup); !errors.Is(err, latchkey.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})

		t.Run("auth reads key, org and the creator's role", func(t *testing.T) {
			a, err := st.APIKeyAuth(ctx, "hash1")
			if err != nil {
				t.Fatal(err)
			}
			if a.Key.ID != "key_1" || a.Key.Name != "deploy" || !slices.Equal(a.Key.Scopes, k1.Scopes) || a.Key.Prefix != k1.Prefix ||
				a.Key.CreatedBy != "usr_admin" || !a.Key.CreatedAt.Equal(now) || !a.Key.LastUsedAt.IsZero() ||
				a.Org.ID != "org_a" || a.Org.Name != "Org org_a" || a.Org.Slug != "org_a" || a.CreatorRole != latchkey.RoleAdmin {
				t.Errorf("APIKeyAuth = %+v", a)
			}
			if _, err := st.APIKeyAuth(ctx, "nope"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("unknown hash: %v", err)
			}
		})

		t.Run("last_used_at is written once per window", func(t *testing.T) {
			t1 := now.Add(time.Minute)
			must(st.TouchAPIKey(ctx, "key_1", t1, t1.Add(-time.Minute)))
			// A second writer inside the window changes nothing.
			must(st.TouchAPIKey(ctx, "key_1", t1.Add(time.Second), t1.Add(time.Second-time.Minute)))
			a, _ := st.APIKeyAuth(ctx, "hash1")
			if !a.Key.LastUsedAt.Equal(t1) {
				t.Fatalf("last_used_at = %v, want %v", a.Key.LastUsedAt, t1)
			}
			t2 := t1.Add(2 * time.Minute)
			must(st.TouchAPIKey(ctx, "key_1", t2, t2.Add(-time.Minute)))
			if a, _ := st.APIKeyAuth(ctx, "hash1"); !a.Key.LastUsedAt.Equal(t2) {
				t.Fatalf("last_used_at = %v, want %v", a.Key.LastUsedAt, t2)
			}
		})

		t.Run("lists and lookups stay in their org", func(t *testing.T) {
			keys, err := st.APIKeysOfOrg(ctx, "org_a")
			if err != nil || len(keys) != 2 || keys[0].ID != "key_1" || keys[1].ID != "key_2" {
				t.Fatalf("APIKeysOfOrg = %+v, %v", keys, err)
			}
			if keys, _ := st.APIKeysOfOrg(ctx, "org_b"); len(keys) != 0 {
				t.Errorf("org_b sees %d keys", len(keys))
			}
			if _, err := st.APIKeyByID(ctx, "org_b", "key_1"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("APIKeyByID across orgs: %v", err)
			}
			if err := st.DeleteAPIKey(ctx, "org_b", "key_1"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("DeleteAPIKey across orgs: %v", err)
			}
		})

		t.Run("a deleted creator leaves the key without a role", func(t *testing.T) {
			must(st.DeleteUser(ctx, "usr_admin"))
			a, err := st.APIKeyAuth(ctx, "hash1")
			if err != nil || a.Key.CreatedBy != "" || a.CreatorRole != "" {
				t.Fatalf("after the creator's deletion: %+v, %v", a, err)
			}
		})

		t.Run("publishable keys", func(t *testing.T) {
			p1 := latchkey.PublishableKey{ID: "pk_1", OrgID: "org_a", Key: "pk_live_1", CreatedBy: "usr_owner", CreatedAt: now}
			p2 := latchkey.PublishableKey{ID: "pk_2", OrgID: "org_a", Key: "pk_live_2", CreatedAt: now.Add(time.Second)}
			must(st.CreatePublishableKey(ctx, p2))
			must(st.CreatePublishableKey(ctx, p1))
			list, err := st.PublishableKeysOfOrg(ctx, "org_a")
			if err != nil || len(list) != 2 || list[0] != p1 || list[1] != p2 {
				t.Fatalf("PublishableKeysOfOrg = %+v, %v", list, err)
			}
			if err := st.DeletePublishableKey(ctx, "org_b", "pk_1"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("DeletePublishableKey across orgs: %v", err)
			}
			must(st.DeletePublishableKey(ctx, "org_a", "pk_1"))
			if list, _ := st.PublishableKeysOfOrg(ctx, "org_a"); len(list) != 1 || list[0].ID != "pk_2" {
				t.Errorf("after delete: %+v", list)
			}
		})

		t.Run("deleting the org deletes its keys", func(t *testing.T) {
			must(st.DeleteOrg(ctx, "org_a"))
			if _, err := st.APIKeyAuth(ctx, "hash2"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("a key outlived its org: %v", err)
			}
			if list, _ := st.PublishableKeysOfOrg(ctx, "org_a"); len(list) != 0 {
				t.Errorf("publishable keys outlived their org: %+v", list)
			}
		})
	})
}
