package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// listAll pages through op with body and the given limit, returning the
// items under key in order, and how many pages it took.
func listAll(t *testing.T, c *latchkeytest.Client, op, key string, body map[string]any, limit int) ([]map[string]any, int) {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for pages := 1; ; pages++ {
		req := map[string]any{"limit": limit}
		for k, v := range body {
			req[k] = v
		}
		if cursor != "" {
			req["cursor"] = cursor
		}
		r := c.Call(op, req)
		wantOK(t, op, r)
		items, _ := r.JSON[key].([]any)
		if len(items) > limit {
			t.Fatalf("%s: %d items on a page of %d", op, len(items), limit)
		}
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		next, _ := r.JSON["next_cursor"].(string)
		if next == "" {
			if r.JSON["next_cursor"] != nil {
				t.Fatalf("%s: next_cursor %v, want a string or null", op, r.JSON["next_cursor"])
			}
			return out, pages
		}
		cursor = next
		if pages > 1000 {
			t.Fatalf("%s: more than 1000 pages", op)
		}
	}
}

// pluck lists the string field key of each item.
func pluck(items []map[string]any, key string) []string {
	var out []string
	for _, it := range items {
		s, _ := it[key].(string)
		out = append(out, s)
	}
	return out
}

func ids(items []map[string]any) []string { return pluck(items, "id") }

// TestAdminUsersListPagesUnderInserts: while 20 goroutines register users,
// paging through admin.users.list shows every user that existed before
// it started exactly once, newest first, and never any row twice.
func TestAdminUsersListPagesUnderInserts(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		for i := range 40 {
			wantOK(t, "register", env.Client(t).Register(fmt.Sprintf("before%02d@example.com", i), pw))
			env.Clock.Advance(time.Millisecond)
		}
		before, _ := listAll(t, admin, "admin.users.list", "users", nil, 200)
		if len(before) != 42 { // alice, the operator, 40 more
			t.Fatalf("%d users listed, want 42", len(before))
		}

		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 20 {
			wg.Go(func() {
				c := env.Client(t)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					c.Call("auth.register", map[string]any{"email": fmt.Sprintf("during%02d-%03d@example.com", g, i), "password": pw})
				}
			})
		}
		during, pages := listAll(t, admin, "admin.users.list", "users", nil, 7)
		close(stop)
		wg.Wait()

		seen := map[string]int{}
		for _, id := range ids(during) {
			seen[id]++
			if seen[id] > 1 {
				t.Errorf("user %s listed twice", id)
			}
		}
		for _, id := range ids(before) {
			if seen[id] != 1 {
				t.Errorf("user %s, there before the listing, listed %d times", id, seen[id])
			}
		}
		for i := 1; i < len(during); i++ {
			a, b := during[i-1], during[i]
			if a["created_at"].(string) < b["created_at"].(string) {
				t.Errorf("not newest first: %v before %v", a["created_at"], b["created_at"])
			}
		}
		if pages < 6 {
			t.Errorf("%d pages of 7 for at least 42 users", pages)
		}
	})
}

func TestAdminUsersListFilters(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		for _, e := range []string{"bob@example.com", "bobby@example.com", "carol@example.com"} {
			wantOK(t, "register "+e, env.Client(t).Register(e, pw))
			env.Clock.Advance(time.Millisecond)
		}
		disable(t, env, "bobby@example.com")
		bobby := user(t, env, "bobby@example.com")
		cases := []struct {
			name string
			body map[string]any
			want []string
		}{
			{"everyone", nil, []string{"carol@example.com", "bobby@example.com", "bob@example.com", "operator@example.com", "alice@example.com"}},
			{"email prefix", map[string]any{"query": "bob"}, []string{"bobby@example.com", "bob@example.com"}},
			{"email prefix, any case", map[string]any{"query": "  BOBBY"}, []string{"bobby@example.com"}},
			{"a prefix nobody has", map[string]any{"query": "zed"}, nil},
			{"a user id", map[string]any{"query": bobby.ID}, []string{"bobby@example.com"}},
			{"an unknown user id", map[string]any{"query": "usr_nobody"}, nil},
			{"disabled", map[string]any{"disabled": true}, []string{"bobby@example.com"}},
			{"enabled, prefix", map[string]any{"disabled": false, "query": "b"}, []string{"bob@example.com"}},
			{"org", map[string]any{"org_id": f.orgID}, []string{"alice@example.com"}},
			{"unknown org", map[string]any{"org_id": "org_nothing"}, nil},
			{"malformed org id", map[string]any{"org_id": "nothing"}, nil},
			{"% is not a wildcard", map[string]any{"query": "%"}, nil},
		}
		for _, c := range cases {
			got, _ := listAll(t, admin, "admin.users.list", "users", c.body, 2)
			var emails []string
			for _, u := range got {
				emails = append(emails, u["email"].(string))
			}
			if strings.Join(emails, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s: %v, want %v", c.name, emails, c.want)
			}
		}
		for _, u := range mustList(t, admin, map[string]any{"query": "bobby"}) {
			if u["disabled"] != true || u["mfa_enrolled"] != false || u["disabled_at"] == nil {
				t.Errorf("bobby as listed: %v", u)
			}
		}
		for name, body := range map[string]map[string]any{
			"limit 0 is the default, 201 is too many": {"limit": 201},
			"negative limit":               {"limit": -1},
			"a cursor of another kind":     {"cursor": "not-a-cursor"},
			"a cursor without an id":       {"cursor": "MTIz"},
			"a control character in query": {"query": "a\x00b"},
			"an overlong query":            {"query": strings.Repeat("a", 321)},
		} {
			expectError(t, name, admin.Call("admin.users.list", body), 400, "invalid_request")
		}
	})
}

func mustList(t *testing.T, c *latchkeytest.Client, body map[string]any) []map[string]any {
	t.Helper()
	out, _ := listAll(t, c, "admin.users.list", "users", body, 50)
	return out
}

func TestAdminRevokeSessions(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		second, _ := login(t, env, "alice@example.com", pw)
		r := admin.Call("admin.users.revoke_sessions", map[string]any{"user_id": f.userID})
		wantOK(t, "revoke_sessions", r)
		if r.JSON["revoked"] != float64(2) {
			t.Errorf("revoked %v, want 2", r.JSON["revoked"])
		}
		expectError(t, "alice's bearer token", bearer(t, env, f.userTok).Get("auth.me"), 401, "invalid_token")
		expectError(t, "alice's cookie session", second.Get("auth.me"), 401, "invalid_token")
		// She can sign in again: revoking is not disabling.
		login(t, env, "alice@example.com", pw)
		r = admin.Call("admin.users.revoke_sessions", map[string]any{"user_id": f.userID})
		if r.JSON["revoked"] != float64(1) {
			t.Errorf("second revoke: %v, want 1", r.JSON["revoked"])
		}
		expectError(t, "unknown user", admin.Call("admin.users.revoke_sessions", map[string]any{"user_id": "usr_nobody"}), 404, "not_found")
		expectError(t, "no user_id", admin.Call("admin.users.revoke_sessions", map[string]any{}), 400, "invalid_request")
	})
}

func TestAdminResetMFA(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		k, sec, err := env.Service.CreateAdminKey(context.Background(), "support")
		if err != nil {
			t.Fatal(err)
		}
		admin := bearer(t, env.Env, sec.Reveal())
		c := env.Client(t)
		c.Register("dana@example.com", pw)
		env.settle(t)
		env.SMTP.Next(t, "dana@example.com") // verification
		enrollTOTP(t, env.Env, c)
		dana := user(t, env.Env, "dana@example.com")

		r := admin.Call("admin.users.mfa.reset", map[string]any{"user_id": dana.ID})
		wantOK(t, "mfa.reset", r)
		if r.JSON["factors_removed"] != float64(1) {
			t.Errorf("factors_removed %v, want 1", r.JSON["factors_removed"])
		}
		env.settle(t)
		m := env.SMTP.Next(t, "dana@example.com")
		if !strings.Contains(m.Subject, "two-factor") || !strings.Contains(m.Text, "operator") {
			t.Errorf("mail %q:\n%s", m.Subject, m.Text)
		}
		// A password alone signs her in now.
		r = env.Client(t).Call("auth.login", map[string]any{"email": "dana@example.com", "password": pw})
		wantOK(t, "login after reset", r)
		if got := mustList(t, admin, map[string]any{"query": dana.ID}); len(got) != 1 || got[0]["mfa_enrolled"] != false {
			t.Errorf("listed after reset: %v", got)
		}
		events, _ := env.Store.AuditEvents(context.Background(), k.ID)
		if !containsAction(events, "admin.users.mfa_reset", dana.ID) {
			t.Errorf("no admin.users.mfa_reset audit event: %+v", events)
		}
		expectError(t, "unknown user", admin.Call("admin.users.mfa.reset", map[string]any{"user_id": "usr_nobody"}), 404, "not_found")
	})
}

func containsAction(events []latchkey.AuditEvent, action, target string) bool {
	for _, e := range events {
		if e.Action == action && e.Target == target {
			return true
		}
	}
	return false
}

func TestAdminDeleteUser(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		keyMember(t, env, f.orgID, "erin@example.com", latchkey.RoleMember)
		env.Clock.Advance(time.Millisecond)
		keyMember(t, env, f.orgID, "frank@example.com", latchkey.RoleAdmin)
		frank := user(t, env, "frank@example.com")

		expectError(t, "delete the only owner of an org with members", admin.Call("admin.users.delete", map[string]any{"user_id": f.userID}), 409, "org_has_other_members")
		wantOK(t, "alice still there", admin.Call("admin.users.get", map[string]any{"user_id": f.userID}))

		wantOK(t, "forced delete", admin.Call("admin.users.delete", map[string]any{"user_id": f.userID, "force": true}))
		expectError(t, "alice is gone", admin.Call("admin.users.get", map[string]any{"user_id": f.userID}), 404, "not_found")
		expectError(t, "her session is dead", bearer(t, env, f.userTok).Get("auth.me"), 401, "invalid_token")
		// Frank, the admin, owns the org now (not Erin, the older member).
		r := admin.Call("admin.users.get", map[string]any{"user_id": frank.ID})
		ms, _ := r.JSON["memberships"].([]any)
		if len(ms) != 1 || !hasMembership(ms, f.orgID, "owner") {
			t.Errorf("frank's memberships after the transfer: %v", ms)
		}
		expectError(t, "delete twice", admin.Call("admin.users.delete", map[string]any{"user_id": f.userID}), 404, "not_found")
		events, _ := env.Store.AuditEvents(context.Background(), f.keyID)
		if !containsAction(events, "admin.users.deleted", f.userID) {
			t.Errorf("no admin.users.deleted audit event")
		}
	})
}

func hasMembership(ms []any, orgID, role string) bool {
	for _, m := range ms {
		m := m.(map[string]any)
		if m["org_id"] == orgID && m["role"] == role {
			return true
		}
	}
	return false
}
