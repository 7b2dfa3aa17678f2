package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/authcache"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/secret"
)

// TestEveryRevocationReachesTheOtherNode: each way of revoking or changing
// what a credential grants, done on node A, shows on node B's very next
// request. On PostgreSQL, B answers from its revocation cache, and B acts
// on every notification 30 ms late: a flow that returned before B dropped
// its copy (one that skipped the barrier) would fail here every time.
func TestEveryRevocationReachesTheOtherNode(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		a := latchkeytest.New(t, sameIssuerOpts(db))
		slowB := sameIssuerOpts(db)
		slowB.AuthCache = authcache.Options{BeforeHandle: func(string) { time.Sleep(30 * time.Millisecond) }}
		b := latchkeytest.New(t, slowB)
		admin := adminKey(t, a)

		// signup registers on A and returns the access token after B has
		// answered (and, on PostgreSQL, cached) it.
		n := 0
		signup := func(t *testing.T) (email, token string) {
			n++
			email = "node" + strings.Repeat("x", n) + "@example.com"
			token = a.Client(t).Register(email, pw).Str("access_token")
			warm(t, b, token)
			return email, token
		}
		// teammate adds a second user to owner's org as role, with a
		// session in that org that B has answered.
		teammate := func(t *testing.T, ownerToken string, role latchkey.Role) (userID, token string) {
			email, _ := signup(t)
			u := user(t, a, email)
			org := bearer(t, a, ownerToken).Get("auth.me").Obj("org")["id"].(string)
			addMember(t, a, u.ID, org, role)
			_, r := login(t, a, email, pw)
			tok := r.Str("access_token")
			r = bearer(t, a, tok).Call("auth.org.switch", map[string]any{"org_id": org})
			wantOK(t, "org.switch", r)
			tok = r.Str("access_token")
			warm(t, b, tok)
			return u.ID, tok
		}
		// another signs the user in again on A and has B answer (and
		// cache) that second session.
		another := func(t *testing.T, email string) *latchkeytest.Response {
			_, r := login(t, a, email, pw)
			warm(t, b, r.Str("access_token"))
			return r
		}
		meOnB := func(t *testing.T, token string) *latchkeytest.Response { return bearer(t, b, token).Get("auth.me") }
		dead := func(t *testing.T, what, token string) {
			t.Helper()
			expectError(t, what+" on node B", meOnB(t, token), http.StatusUnauthorized, "invalid_token")
		}

		cases := []struct {
			name string
			run  func(t *testing.T)
		}{
			{"logout", func(t *testing.T) {
				_, tok := signup(t)
				wantOK(t, "logout", bearer(t, a, tok).Call("auth.logout", map[string]any{}))
				dead(t, "logged-out token", tok)
			}},
			{"sessions.revoke", func(t *testing.T) {
				email, tok := signup(t)
				other := another(t, email).Str("access_token")
				sid := meOnB(t, other).Str("session_id")
				wantOK(t, "sessions.revoke", bearer(t, a, tok).Call("auth.sessions.revoke", map[string]any{"session_id": sid}))
				dead(t, "revoked session", other)
			}},
			{"password.change", func(t *testing.T) {
				email, tok := signup(t)
				other := another(t, email).Str("access_token")
				wantOK(t, "password.change", bearer(t, a, tok).Call("auth.password.change", map[string]any{"current_password": pw, "new_password": "another horse battery"}))
				dead(t, "other session after a password change", other)
			}},
			{"account.delete", func(t *testing.T) {
				_, tok := signup(t)
				wantOK(t, "account.delete", bearer(t, a, tok).Call("auth.account.delete", map[string]any{"password": pw}))
				dead(t, "deleted account's token", tok)
			}},
			{"admin.users.disable", func(t *testing.T) {
				email, tok := signup(t)
				wantOK(t, "disable", admin.Call("admin.users.disable", map[string]any{"user_id": user(t, a, email).ID}))
				dead(t, "disabled user's token", tok)
			}},
			{"org.switch", func(t *testing.T) {
				_, owner := signup(t)
				_, tok := teammate(t, owner, latchkey.RoleMember)
				email := meOnB(t, tok).Obj("user")["email"].(string)
				_, r := login(t, a, email, pw) // a session in the user's own org
				own := r.Str("access_token")
				ownOrg := bearer(t, a, own).Get("auth.me").Obj("org")["id"].(string)
				r = bearer(t, a, tok).Call("auth.org.switch", map[string]any{"org_id": ownOrg})
				wantOK(t, "org.switch", r)
				dead(t, "token from before the switch", tok)
				if got := meOnB(t, r.Str("access_token")).Obj("org")["id"]; got != ownOrg {
					t.Fatalf("new token's org on node B = %v, want %s", got, ownOrg)
				}
			}},
			{"org.members.update_role", func(t *testing.T) {
				_, owner := signup(t)
				id, tok := teammate(t, owner, latchkey.RoleAdmin)
				wantOK(t, "update_role", bearer(t, a, owner).Call("org.members.update_role", map[string]any{"user_id": id, "role": "member"}))
				if got := meOnB(t, tok).Str("role"); got != "member" {
					t.Fatalf("role on node B after the change = %q, want member", got)
				}
			}},
			{"org.members.remove", func(t *testing.T) {
				_, owner := signup(t)
				id, tok := teammate(t, owner, latchkey.RoleMember)
				wantOK(t, "members.remove", bearer(t, a, owner).Call("org.members.remove", map[string]any{"user_id": id}))
				dead(t, "removed member's session in the org", tok)
			}},
			{"org.api_keys.revoke", func(t *testing.T) {
				_, owner := signup(t)
				r := bearer(t, a, owner).Call("org.api_keys.create", map[string]any{"name": "ci", "scopes": []string{"api:read"}})
				wantOK(t, "api_keys.create", r)
				key := r.Str("secret")
				warm(t, b, key)
				wantOK(t, "api_keys.revoke", bearer(t, a, owner).Call("org.api_keys.revoke", map[string]any{"id": r.Obj("api_key")["id"]}))
				dead(t, "revoked key", key)
			}},
			{"key creator demoted", func(t *testing.T) {
				_, owner := signup(t)
				id, tok := teammate(t, owner, latchkey.RoleAdmin)
				r := bearer(t, a, tok).Call("org.api_keys.create", map[string]any{"name": "ops", "scopes": []string{"api:read", "org:admin"}})
				wantOK(t, "api_keys.create", r)
				key := r.Str("secret")
				warm(t, b, key)
				wantOK(t, "update_role", bearer(t, a, owner).Call("org.members.update_role", map[string]any{"user_id": id, "role": "member"}))
				if scopes := meOnB(t, key).JSON["scopes"].([]any); slices.Contains(scopes, any("org:admin")) {
					t.Fatalf("key of a demoted creator still has org:admin on node B: %v", scopes)
				}
			}},
			{"auth.mfa.totp.confirm", func(t *testing.T) {
				_, tok := signup(t)
				enrollTOTP(t, a, bearer(t, a, tok))
				r := meOnB(t, tok)
				if r.Obj("mfa")["enrolled"] != true || r.Str("aal") != "aal2" {
					t.Fatalf("auth.me on node B after enrolling: %s", r.Body)
				}
			}},
			{"auth.mfa.delete", func(t *testing.T) {
				_, tok := signup(t)
				factor, _, _ := enrollTOTP(t, a, bearer(t, a, tok))
				warm(t, b, tok)
				wantOK(t, "mfa.delete", bearer(t, a, tok).Call("auth.mfa.delete", map[string]any{"id": factor}))
				if r := meOnB(t, tok); r.Obj("mfa")["enrolled"] != false {
					t.Fatalf("auth.me on node B after removing the only factor: %s", r.Body)
				}
			}},
			{"refresh token reuse", func(t *testing.T) {
				email, _ := signup(t)
				r := another(t, email)
				tok, first := r.Str("access_token"), r.Cookie("latchkey_refresh").Value
				wantOK(t, "refresh", refreshWith(t, a, first))
				a.Clock.Advance(time.Minute) // past the reuse grace
				expectError(t, "reused refresh token", refreshWith(t, a, first), http.StatusUnauthorized, "invalid_token")
				dead(t, "session of a reused refresh token", tok)
			}},
			{"org.settings.update require_mfa", func(t *testing.T) {
				_, owner := signup(t)
				wantOK(t, "settings.update", bearer(t, a, owner).Call("org.settings.update", map[string]any{"require_mfa": true}))
				if r := meOnB(t, owner); r.Obj("mfa")["required"] != true {
					t.Fatalf("auth.me on node B after require_mfa: %s", r.Body)
				}
			}},
		}
		for _, c := range cases {
			t.Run(c.name, c.run)
		}
	})
}

// warm has node env answer token twice; on PostgreSQL it must then hold
// the credential in its cache, so that what follows tests the cache. It
// first lets env handle every notification still queued from the setup,
// which would otherwise drop the entry after it was stored and let a
// missing barrier pass unseen.
func warm(t *testing.T, env *latchkeytest.Env, token string) {
	t.Helper()
	n := env.DB.AuthCache()
	if n != nil {
		if err := n.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		wantOK(t, "auth.me on node B", bearer(t, env, token).Get("auth.me"))
	}
	if n == nil {
		return
	}
	var key string
	if strings.HasPrefix(token, latchkey.APIKeyPrefix) {
		key = "h:" + secret.Hash(token)
	} else {
		key = "s:" + bearer(t, env, token).Get("auth.me").Str("session_id")
	}
	if _, ok := n.Cache.Get(key); !ok {
		t.Fatalf("node B did not cache %s", key)
	}
}
