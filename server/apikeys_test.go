package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/secret"
)

const keyPassword = "correct horse battery"

// owner registers an account and returns its browser client and org id.
func keyOwner(t *testing.T, env *latchkeytest.Env, email string) (*latchkeytest.Client, string) {
	t.Helper()
	c := env.Client(t)
	c.Register(email, keyPassword)
	me := c.Get("auth.me")
	if me.Status != http.StatusOK {
		t.Fatalf("auth.me: %d %s", me.Status, me.Body)
	}
	return c, me.Obj("org")["id"].(string)
}

// addMember puts a new user into org with role (there is no invitation
// flow in this package's tests) and returns their signed-in client.
func keyMember(t *testing.T, env *latchkeytest.Env, orgID, email string, role latchkey.Role) *latchkeytest.Client {
	t.Helper()
	ctx := context.Background()
	hash, err := env.Service.Config.Password.Hash(keyPassword)
	if err != nil {
		t.Fatal(err)
	}
	now := env.Service.Now()
	u := latchkey.User{ID: secret.ID("usr_"), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := env.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateMembership(ctx, latchkey.Membership{UserID: u.ID, OrgID: orgID, Role: role, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	c := env.Client(t)
	if r := c.Call("auth.login", map[string]any{"email": email, "password": keyPassword}); r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	return c
}

// createKey creates a key through c and returns its secret and id.
func newKey(t *testing.T, c *latchkeytest.Client, scopes ...string) (string, string) {
	t.Helper()
	r := c.Call("org.api_keys.create", map[string]any{"name": "test key", "scopes": scopes})
	if r.Status != http.StatusOK {
		t.Fatalf("org.api_keys.create: %d %s", r.Status, r.Body)
	}
	return r.Str("secret"), r.Obj("api_key")["id"].(string)
}

// withKey returns a client without cookies that sends the key as bearer.
func withKey(t *testing.T, env *latchkeytest.Env, key string) *latchkeytest.Client {
	c := env.Client(t)
	c.Bearer = key
	return c
}

func wantKeyError(t *testing.T, what string, r *latchkeytest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("%s: got %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c, orgID := keyOwner(t, env, "ada@example.com")

		r := c.Call("org.api_keys.create", map[string]any{"name": "deploy", "scopes": []string{"api:write", "api:read", "api:read"}})
		if r.Status != http.StatusOK {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		key, meta := r.Str("secret"), r.Obj("api_key")
		if !strings.HasPrefix(key, "sk_live_") || len(key) < 40 {
			t.Fatalf("secret %q is not an sk_live_ key", key)
		}
		if !strings.HasPrefix(meta["id"].(string), "key_") || meta["name"] != "deploy" || !strings.HasPrefix(key, meta["prefix"].(string)) || meta["last_used_at"] != nil {
			t.Fatalf("api_key: %v", meta)
		}
		if got := meta["scopes"].([]any); len(got) != 2 || got[0] != "api:read" || got[1] != "api:write" {
			t.Fatalf("scopes %v, want [api:read api:write]", got)
		}

		me := withKey(t, env, key).Get("auth.me")
		if me.Status != http.StatusOK {
			t.Fatalf("auth.me with key: %d %s", me.Status, me.Body)
		}
		if me.JSON["user"] != nil || me.Str("role") != "owner" || me.JSON["session_id"] != nil ||
			me.Str("credential") != "api_key" || me.Str("api_key_id") != meta["id"] || me.Obj("org")["id"] != orgID {
			t.Fatalf("auth.me with key: %s", me.Body)
		}

		list := c.Get("org.api_keys.list")
		keys, _ := list.JSON["api_keys"].([]any)
		if list.Status != http.StatusOK || len(keys) != 1 || strings.Contains(string(list.Body), key) {
			t.Fatalf("list: %d %s", list.Status, list.Body)
		}
		if keys[0].(map[string]any)["last_used_at"] == nil {
			t.Fatalf("last_used_at not set after a use: %s", list.Body)
		}

		if r := c.Call("org.api_keys.revoke", map[string]any{"id": meta["id"]}); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		wantKeyError(t, "auth.me with a revoked key", withKey(t, env, key).Get("auth.me"), 401, "invalid_token")
		wantKeyError(t, "revoke twice", c.Call("org.api_keys.revoke", map[string]any{"id": meta["id"]}), 404, "not_found")
		wantKeyError(t, "an unknown key", withKey(t, env, "sk_live_"+strings.Repeat("A", 43)).Get("auth.me"), 401, "invalid_token")
	})
}

func TestAPIKeyLastUsedIsWrittenAtMostOncePerMinute(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c, _ := keyOwner(t, env, "ada@example.com")
	key, _ := newKey(t, c, "api:read")
	lastUsed := func() string {
		t.Helper()
		withKey(t, env, key).Get("auth.me")
		keys, _ := c.Get("org.api_keys.list").JSON["api_keys"].([]any)
		s, _ := keys[0].(map[string]any)["last_used_at"].(string)
		return s
	}
	first := lastUsed()
	env.Clock.Advance(30 * time.Second)
	if again := lastUsed(); again != first {
		t.Fatalf("last_used_at moved within a minute: %s then %s", first, again)
	}
	env.Clock.Advance(31 * time.Second)
	if later := lastUsed(); later == first {
		t.Fatalf("last_used_at not updated after a minute: still %s", first)
	}
}

func TestAPIKeyScopes(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c, orgID := keyOwner(t, env, "ada@example.com")
		readKey, _ := newKey(t, c, "api:read", "api:write")
		adminKey, adminKeyID := newKey(t, c, "org:admin")
		read, admin := withKey(t, env, readKey), withKey(t, env, adminKey)

		wantKeyError(t, "list without org:admin", read.Get("org.api_keys.list"), 403, "insufficient_scope")
		wantKeyError(t, "create without org:admin", read.Call("org.api_keys.create", map[string]any{"name": "x", "scopes": []string{"api:read"}}), 403, "insufficient_scope")
		wantKeyError(t, "publishable create without org:admin", read.Call("org.publishable_keys.create", nil), 403, "insufficient_scope")
		wantKeyError(t, "a key on a session operation", read.Call("auth.sessions.list", nil), 403, "wrong_credential_kind")
		wantKeyError(t, "a key on auth.cli.authorize", admin.Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s"}), 403, "wrong_credential_kind")
		wantKeyError(t, "a session on a key operation", c.Call("auth.dashboard_token.create", map[string]any{}), 403, "wrong_credential_kind")
		wantKeyError(t, "no credential", env.Client(t).Call("org.api_keys.list", nil), 401, "unauthenticated")

		if r := admin.Get("org.api_keys.list"); r.Status != http.StatusOK {
			t.Fatalf("list with org:admin: %d %s", r.Status, r.Body)
		}
		r := admin.Call("org.api_keys.create", map[string]any{"name": "child", "scopes": []string{"api:read", "org:admin"}})
		if r.Status != http.StatusOK {
			t.Fatalf("a key with org:admin creating a key: %d %s", r.Status, r.Body)
		}

		wantKeyError(t, "an unknown scope", c.Call("org.api_keys.create", map[string]any{"name": "x", "scopes": []string{"root"}}), 400, "invalid_request")
		wantKeyError(t, "no scopes", c.Call("org.api_keys.create", map[string]any{"name": "x", "scopes": []string{}}), 400, "invalid_request")
		wantKeyError(t, "no name", c.Call("org.api_keys.create", map[string]any{"scopes": []string{"api:read"}}), 400, "invalid_request")

		// A plain member may not administer keys, by any route.
		member := keyMember(t, env, orgID, "bob@example.com", latchkey.RoleMember)
		wantKeyError(t, "member creates a key", member.Call("org.api_keys.create", map[string]any{"name": "x", "scopes": []string{"api:read"}}), 403, "forbidden")
		wantKeyError(t, "member lists keys", member.Get("org.api_keys.list"), 403, "forbidden")
		wantKeyError(t, "member revokes a key", member.Call("org.api_keys.revoke", map[string]any{"id": adminKeyID}), 403, "forbidden")
		wantKeyError(t, "member lists publishable keys", member.Get("org.publishable_keys.list"), 403, "forbidden")

		// A member's CLI key gets the default scopes, never org:admin.
		cb := map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s", "scopes": []string{"api:read", "org:admin"}}
		wantKeyError(t, "member asks for org:admin", member.Call("auth.cli.authorize", cb), 403, "insufficient_scope")
		if r := member.Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s"}); r.Status != http.StatusOK {
			t.Fatalf("member's default CLI key: %d %s", r.Status, r.Body)
		}

		// A key may always revoke itself (latchkey logout), but not others.
		wantKeyError(t, "a read key revokes another", read.Call("org.api_keys.revoke", map[string]any{"id": adminKeyID}), 403, "insufficient_scope")
		readID := withKey(t, env, readKey).Get("auth.me").Str("api_key_id")
		if r := read.Call("org.api_keys.revoke", map[string]any{"id": readID}); r.Status != http.StatusOK {
			t.Fatalf("a key revokes itself: %d %s", r.Status, r.Body)
		}
		wantKeyError(t, "the self-revoked key", read.Get("auth.me"), 401, "invalid_token")
	})
}

func TestAPIKeysAdministerWithinTheCreatorsRole(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		ownerC, orgID := keyOwner(t, env, "ada@example.com")
		ownerKey, _ := newKey(t, ownerC, "org:admin")
		r := withKey(t, env, ownerKey).Call("org.invitations.create", map[string]any{"email": "new@example.com", "role": "admin"})
		if r.Status != http.StatusOK {
			t.Fatalf("an owner's org:admin key invites an admin: %d %s", r.Status, r.Body)
		}

		admin := keyMember(t, env, orgID, "eve@example.com", latchkey.RoleAdmin)
		member := keyMember(t, env, orgID, "bob@example.com", latchkey.RoleMember)
		memberID := member.Get("auth.me").Obj("user")["id"]
		adminKey, _ := newKey(t, admin, "org:admin")
		k := withKey(t, env, adminKey)
		if me := k.Get("auth.me"); me.Str("role") != "admin" {
			t.Fatalf("auth.me of an admin's key: %s", me.Body)
		}
		wantKeyError(t, "an admin's key grants owner", k.Call("org.members.update_role", map[string]any{"user_id": memberID, "role": "owner"}), 403, "forbidden")
		if r := k.Call("org.members.update_role", map[string]any{"user_id": memberID, "role": "admin"}); r.Status != http.StatusOK {
			t.Fatalf("an admin's key promotes a member to admin: %d %s", r.Status, r.Body)
		}

		// The owner demotes the admin: the admin's key loses org:admin at once.
		adminID := admin.Get("auth.me").Obj("user")["id"]
		if r := ownerC.Call("org.members.update_role", map[string]any{"user_id": adminID, "role": "member"}); r.Status != http.StatusOK {
			t.Fatalf("demote: %d %s", r.Status, r.Body)
		}
		me := k.Get("auth.me")
		if scopes, _ := me.JSON["scopes"].([]any); me.Str("role") != "member" || len(scopes) != 0 {
			t.Fatalf("auth.me of a demoted admin's key: %s", me.Body)
		}
		wantKeyError(t, "a demoted admin's key lists keys", k.Get("org.api_keys.list"), 403, "insufficient_scope")
	})
}

func TestAPIKeyScopesFollowTheCreatorsRole(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		_, orgID := keyOwner(t, env, "ada@example.com")
		admin := keyMember(t, env, orgID, "eve@example.com", latchkey.RoleAdmin)
		key, _ := newKey(t, admin, "api:read", "org:admin")
		k := withKey(t, env, key)
		if r := k.Get("org.api_keys.list"); r.Status != http.StatusOK {
			t.Fatalf("admin's key: %d %s", r.Status, r.Body)
		}
		// The admin leaves for good; the org keeps the key, but org:admin
		// lapses with the role that allowed it.
		if r := admin.Call("auth.account.delete", map[string]any{"password": keyPassword}); r.Status != http.StatusOK {
			t.Fatalf("account delete: %d %s", r.Status, r.Body)
		}
		me := k.Get("auth.me")
		scopes, _ := me.JSON["scopes"].([]any)
		if me.Status != http.StatusOK || me.Str("role") != "member" || slices.Contains(scopes, any("org:admin")) || !slices.Contains(scopes, any("api:read")) {
			t.Fatalf("auth.me after the creator left: %d %s", me.Status, me.Body)
		}
		wantKeyError(t, "list after the creator left", k.Get("org.api_keys.list"), 403, "insufficient_scope")
	})
}

func TestPublishableKeys(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c, _ := keyOwner(t, env, "ada@example.com")
		r := c.Call("org.publishable_keys.create", map[string]any{})
		pk := r.Obj("publishable_key")
		if r.Status != http.StatusOK || !strings.HasPrefix(pk["key"].(string), "pk_live_") || !strings.HasPrefix(pk["id"].(string), "pk_") {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		wantKeyError(t, "a publishable key as a credential", withKey(t, env, pk["key"].(string)).Get("auth.me"), 401, "invalid_token")
		list := c.Get("org.publishable_keys.list")
		if keys, _ := list.JSON["publishable_keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["key"] != pk["key"] {
			t.Fatalf("list: %s", list.Body)
		}
		if r := c.Call("org.publishable_keys.revoke", map[string]any{"id": pk["id"]}); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if keys, _ := c.Get("org.publishable_keys.list").JSON["publishable_keys"].([]any); len(keys) != 0 {
			t.Fatalf("list after revoke: %v", keys)
		}
		wantKeyError(t, "revoke twice", c.Call("org.publishable_keys.revoke", map[string]any{"id": pk["id"]}), 404, "not_found")
	})
}

func TestKeysOfAnotherOrgAreOutOfReach(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	ada, _ := keyOwner(t, env, "ada@example.com")
	bob, _ := keyOwner(t, env, "bob@example.com")
	_, adaKeyID := newKey(t, ada, "api:read")
	wantKeyError(t, "revoke another org's key", bob.Call("org.api_keys.revoke", map[string]any{"id": adaKeyID}), 404, "not_found")
	bobAdmin, _ := newKey(t, bob, "org:admin")
	wantKeyError(t, "revoke another org's key with a key", withKey(t, env, bobAdmin).Call("org.api_keys.revoke", map[string]any{"id": adaKeyID}), 404, "not_found")
	if keys, _ := withKey(t, env, bobAdmin).Get("org.api_keys.list").JSON["api_keys"].([]any); len(keys) != 1 {
		t.Fatalf("bob's admin key sees %d keys, want only its own org's 1", len(keys))
	}
}
