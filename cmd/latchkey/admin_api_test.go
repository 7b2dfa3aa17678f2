package main_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestAdminAPICommands runs `latchkey admin users …` and `latchkey admin
// audit` as the real process against a real server, with an admin key.
func TestAdminAPICommands(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		k, sec, err := env.Service.CreateAdminKey(context.Background(), "cli test")
		if err != nil {
			t.Fatal(err)
		}
		withKey := []string{"LATCHKEY_SERVER=" + env.URL, "LATCHKEY_ADMIN_KEY=" + sec.Reveal()}
		run := func(args ...string) (string, string) {
			t.Helper()
			out, errOut, err := adminCLI(t, db, withKey, args...)
			if err != nil {
				t.Fatalf("admin %q: %v\n%s%s", args, err, out, errOut)
			}
			return out, errOut
		}
		const password = "correct horse battery"
		carolC := env.Client(t)
		carolC.Register("carol@example.com", password)
		daveTok := env.Client(t).Register("dave@example.com", password).Str("access_token")
		carol, _ := env.Store.UserByEmail(context.Background(), "carol@example.com")

		out, _ := run("users", "list")
		if !strings.Contains(out, "EMAIL") || !strings.Contains(out, "carol@example.com") || !strings.Contains(out, "dave@example.com") {
			t.Fatalf("users list:\n%s", out)
		}
		var page struct {
			Users []struct {
				ID, Email string
				Disabled  bool
			}
			NextCursor *string `json:"next_cursor"`
		}
		out, _ = run("users", "list", "--query", "car", "--json")
		if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Users) != 1 || page.Users[0].ID != carol.ID || page.NextCursor != nil {
			t.Fatalf("users list --query car: %v %s", err, out)
		}
		// Paging: one user a page, the cursor printed to stderr gives the next.
		out, errOut := run("users", "list", "--limit", "1")
		cur := regexp.MustCompile(`--cursor (\S+)`).FindStringSubmatch(errOut)
		if !strings.Contains(out, "dave@example.com") || cur == nil {
			t.Fatalf("first page:\n%s\n%s", out, errOut)
		}
		if out, _ = run("users", "list", "--limit", "1", "--cursor", cur[1]); !strings.Contains(out, "carol@example.com") {
			t.Fatalf("second page:\n%s", out)
		}

		if out, _ = run("users", "show", "carol@example.com"); !strings.Contains(out, carol.ID) || !strings.Contains(out, "ORG") {
			t.Fatalf("users show:\n%s", out)
		}
		if out, _ = run("users", "disable", "carol@example.com", "--reason", "chargeback"); !strings.Contains(out, "disabled") {
			t.Fatalf("users disable: %s", out)
		}
		if r := env.Client(t).Call("auth.login", map[string]any{"email": "carol@example.com", "password": password}); r.Status != 403 || r.Code() != "account_disabled" {
			t.Fatalf("login while disabled: %d %s", r.Status, r.Body)
		}
		out, _ = run("users", "list", "--disabled", "--json")
		if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Users) != 1 || !page.Users[0].Disabled {
			t.Fatalf("users list --disabled: %s", out)
		}
		run("users", "enable", carol.ID)
		login := env.Client(t).Call("auth.login", map[string]any{"email": "carol@example.com", "password": password})
		if login.Status != 200 {
			t.Fatalf("login after enable: %d %s", login.Status, login.Body)
		}
		out, _ = run("users", "revoke-sessions", carol.ID, "--json")
		var revoked struct{ Revoked int }
		if err := json.Unmarshal([]byte(out), &revoked); err != nil || revoked.Revoked != 1 {
			t.Fatalf("revoke-sessions: %s", out)
		}
		me := env.Client(t)
		me.Bearer = login.Str("access_token")
		if r := me.Get("auth.me"); r.Status != 401 {
			t.Fatalf("auth.me after revoke-sessions: %d", r.Status)
		}
		if out, _ = run("users", "mfa-reset", carol.ID); !strings.Contains(out, "Removed 0") {
			t.Fatalf("mfa-reset: %s", out)
		}

		out, _ = run("audit", "--user", carol.ID, "--json")
		var trail struct {
			Events []struct {
				ActorID   string `json:"actor_id"`
				ActorKind string `json:"actor_kind"`
				Action    string
				Target    string
			}
		}
		if err := json.Unmarshal([]byte(out), &trail); err != nil {
			t.Fatal(err, out)
		}
		seen := map[string]bool{}
		for _, e := range trail.Events {
			if e.Target == carol.ID && e.ActorID == k.ID && e.ActorKind == "admin_key" {
				seen[e.Action] = true
			}
		}
		for _, a := range []string{"admin.users.disabled", "admin.users.enabled", "admin.users.sessions_revoked", "admin.users.mfa_reset"} {
			if !seen[a] {
				t.Errorf("audit --user: no %s by the key in %s", a, out)
			}
		}
		if out, _ = run("audit", "--action", "admin.users.disabled", "--since", "1h"); !strings.Contains(out, "admin_key "+k.ID) || !strings.Contains(out, carol.ID) {
			t.Errorf("audit table:\n%s", out)
		}

		if _, errOut, err := adminCLI(t, db, withKey, "users", "delete", carol.ID); err == nil || !strings.Contains(errOut, "--yes") {
			t.Fatalf("delete without --yes: %v %s", err, errOut)
		}
		run("users", "delete", "carol@example.com", "--yes")
		if _, errOut, err := adminCLI(t, db, withKey, "users", "show", carol.ID); err == nil || !strings.Contains(errOut, "No user has this id") {
			t.Fatalf("show after delete: %v %s", err, errOut)
		}

		for _, c := range []struct {
			env  []string
			args []string
			want string
		}{
			{[]string{"LATCHKEY_SERVER=" + env.URL}, []string{"users", "list"}, "set LATCHKEY_ADMIN_KEY"},
			{[]string{"LATCHKEY_SERVER=" + env.URL, "LATCHKEY_ADMIN_KEY=sk_admin_wrong"}, []string{"users", "list"}, "refused LATCHKEY_ADMIN_KEY"},
			{[]string{"LATCHKEY_SERVER=" + env.URL, "LATCHKEY_ADMIN_KEY=" + daveTok}, []string{"audit"}, "LATCHKEY_ADMIN_KEY is not an admin key"},
			{withKey, []string{"users", "show", "nobody@example.com"}, "no user has the email address"},
			{withKey, []string{"users", "show"}, "give one USER"},
			{withKey, []string{"users", "explode", carol.ID}, "unknown command"},
			{withKey, []string{"users", "list", "--disabled", "--enabled"}, "not both"},
			{withKey, []string{"users", "list", "--limit", "500"}, "limit must be between"},
			{withKey, []string{"audit", "--since", "yesterday"}, "give a time"},
			{withKey, []string{"audit", "--cursor", "!!"}, "cursor is not one"},
		} {
			out, errOut, err := adminCLI(t, db, c.env, c.args...)
			if err == nil || !strings.Contains(errOut, c.want) {
				t.Errorf("admin %q: err %v, stdout %q, stderr %q; want %q", c.args, err, out, errOut, c.want)
			}
		}
	})
}
