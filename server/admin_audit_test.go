package server_test

import (
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func actions(events []map[string]any) []string { return pluck(events, "action") }

// TestAdminAuditTrail: the actions an operator just took are in the trail,
// naming the operator and the target, and each filter narrows it.
func TestAdminAuditTrail(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		wantOK(t, "register bob", env.Client(t).Register("bob@example.com", pw))
		bob := user(t, env, "bob@example.com")
		env.Clock.Advance(time.Second)
		mark := env.Service.Now()
		env.Clock.Advance(time.Second)
		wantOK(t, "disable alice", admin.Call("admin.users.disable", map[string]any{"user_id": f.userID, "reason": "abuse report"}))
		env.Clock.Advance(time.Millisecond)
		wantOK(t, "enable alice", admin.Call("admin.users.enable", map[string]any{"user_id": f.userID}))
		env.Clock.Advance(time.Millisecond)
		wantOK(t, "revoke bob's sessions", admin.Call("admin.users.revoke_sessions", map[string]any{"user_id": bob.ID}))

		all, _ := listAll(t, admin, "admin.audit_events.list", "events", nil, 200)
		var disabled map[string]any
		for _, e := range all {
			if e["action"] == "admin.users.disabled" {
				disabled = e
			}
		}
		if disabled == nil {
			t.Fatalf("no admin.users.disabled in %v", actions(all))
		}
		if disabled["actor_id"] != f.keyID || disabled["actor_kind"] != "admin_key" || disabled["target"] != f.userID {
			t.Errorf("the disable event does not name the key and the target: %v", disabled)
		}
		if d, _ := disabled["data"].(map[string]any); d["reason"] != "abuse report" {
			t.Errorf("the disable event's data: %v", disabled["data"])
		}
		if _, err := time.Parse(time.RFC3339Nano, disabled["time"].(string)); err != nil {
			t.Errorf("time %v: %v", disabled["time"], err)
		}

		cases := []struct {
			name string
			body map[string]any
			want func(e map[string]any) bool
			must []string // actions that must be there, newest first
		}{
			{"by user", map[string]any{"user_id": f.userID},
				func(e map[string]any) bool { return e["actor_id"] == f.userID || e["target"] == f.userID },
				[]string{"admin.users.enabled", "admin.users.disabled", "user.registered"}},
			{"by action", map[string]any{"action": "admin.users.disabled"},
				func(e map[string]any) bool { return e["action"] == "admin.users.disabled" },
				[]string{"admin.users.disabled"}},
			{"by org", map[string]any{"org_id": f.orgID},
				func(e map[string]any) bool { return e["org_id"] == f.orgID },
				[]string{"api_key.created", "user.registered"}},
			{"since", map[string]any{"since": mark.Format(time.RFC3339Nano)},
				func(e map[string]any) bool { return !eventTime(t, e).Before(mark) },
				[]string{"admin.users.sessions_revoked", "admin.users.enabled", "admin.users.disabled"}},
			{"until", map[string]any{"until": mark.Format(time.RFC3339Nano)},
				func(e map[string]any) bool { return eventTime(t, e).Before(mark) },
				[]string{"user.registered"}},
			{"by user and action", map[string]any{"user_id": bob.ID, "action": "admin.users.sessions_revoked"},
				func(e map[string]any) bool {
					return e["target"] == bob.ID && e["action"] == "admin.users.sessions_revoked"
				},
				[]string{"admin.users.sessions_revoked"}},
			{"nothing matches", map[string]any{"action": "no.such.action"}, nil, nil},
		}
		for _, c := range cases {
			got, _ := listAll(t, admin, "admin.audit_events.list", "events", c.body, 200)
			for _, e := range got {
				if c.want == nil || !c.want(e) {
					t.Errorf("%s: %v does not match", c.name, e)
				}
			}
			if !containsInOrder(actions(got), c.must) {
				t.Errorf("%s: %v, want %v among them in that order", c.name, actions(got), c.must)
			}
			// Small pages give the same list: nothing skipped or repeated.
			// Each read is itself audited, so the reads are set aside.
			paged, pages := listAll(t, admin, "admin.audit_events.list", "events", c.body, 2)
			if !slices.Equal(ids(withoutReads(paged)), ids(withoutReads(got))) {
				t.Errorf("%s: paged by 2 %v, in one page %v", c.name, ids(paged), ids(got))
			}
			if len(got) > 2 && pages < 2 {
				t.Errorf("%s: %d events in %d page of 2", c.name, len(got), pages)
			}
		}
		for i := 1; i < len(all); i++ {
			if eventTime(t, all[i]).After(eventTime(t, all[i-1])) {
				t.Fatalf("not newest first at %d: %v after %v", i, all[i]["time"], all[i-1]["time"])
			}
		}
		for name, body := range map[string]map[string]any{
			"until before since":   {"since": mark.Format(time.RFC3339), "until": mark.Add(-time.Hour).Format(time.RFC3339)},
			"a time that is not":   {"since": "yesterday"},
			"a bad cursor":         {"cursor": "%%%"},
			"a control character":  {"action": "a\x01"},
			"too large a limit":    {"limit": 500},
			"a number for user_id": {"user_id": 7},
		} {
			expectError(t, name, admin.Call("admin.audit_events.list", body), 400, "invalid_request")
		}
	})
}

// TestOrgAuditTrail: owners, admins and org:admin keys read their own
// org's events and never another's; members cannot read it at all.
func TestOrgAuditTrail(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env) // alice owns org A and has an org:admin key
		bobC := env.Client(t)
		wantOK(t, "register bob", bobC.Register("bob@example.com", pw))
		bob := user(t, env, "bob@example.com")
		newKey(t, bobC, "api:read") // an event in bob's org B
		member := keyMember(t, env, f.orgID, "erin@example.com", latchkey.RoleMember)
		orgAdmin := keyMember(t, env, f.orgID, "frank@example.com", latchkey.RoleAdmin)

		for name, c := range map[string]*latchkeytest.Client{
			"owner's cookie session":   f.user,
			"admin's session":          orgAdmin,
			"org:admin key":            bearer(t, env, f.orgKey),
			"owner naming her own org": f.user,
		} {
			body := map[string]any{}
			if name == "owner naming her own org" {
				body["org_id"] = f.orgID
			}
			got, _ := listAll(t, c, "org.audit_events.list", "events", body, 3)
			if len(got) == 0 {
				t.Errorf("%s: an empty trail", name)
			}
			for _, e := range got {
				if e["org_id"] != f.orgID || e["actor_id"] == bob.ID {
					t.Errorf("%s: an event of another org: %v", name, e)
				}
			}
			if !containsInOrder(actions(got), []string{"api_key.created", "user.registered"}) {
				t.Errorf("%s: %v", name, actions(got))
			}
		}
		// Bob owns org B; naming org A is refused, not answered with B's.
		expectError(t, "another org's owner naming org A", bobC.Call("org.audit_events.list", map[string]any{"org_id": f.orgID}), 403, "forbidden")
		got, _ := listAll(t, bobC, "org.audit_events.list", "events", map[string]any{"user_id": f.userID}, 50)
		if len(got) != 0 {
			t.Errorf("bob filtering by alice sees %v", got)
		}
		expectError(t, "a member", member.Call("org.audit_events.list", map[string]any{}), 403, "forbidden")
		readKey, _ := newKey(t, f.user, "api:read")
		expectError(t, "a key without org:admin", bearer(t, env, readKey).Call("org.audit_events.list", map[string]any{}), 403, "insufficient_scope")
		expectError(t, "no credential", env.Client(t).Call("org.audit_events.list", map[string]any{}), 401, "unauthenticated")
		expectError(t, "an admin key", bearer(t, env, f.key).Call("org.audit_events.list", map[string]any{}), 403, "wrong_credential_kind")
	})
}

func withoutReads(events []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range events {
		if e["action"] != "admin.audit_events.list" {
			out = append(out, e)
		}
	}
	return out
}

func eventTime(t *testing.T, e map[string]any) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, e["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
