package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
)

// adminCLI runs `latchkey admin …` as the real process against db.
func adminCLI(t *testing.T, db latchkeytest.Database, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"admin"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"LATCHKEY_DATABASE_URL=" + db.URL, testSecretEnv}, env...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func TestAdminBootstrapCommands(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		out, errOut, err := adminCLI(t, db, nil, "keys", "create", "--name", "ci key", "--json")
		if err != nil {
			t.Fatalf("keys create: %v\n%s%s", err, out, errOut)
		}
		var created struct {
			AdminKey struct{ ID, Name string } `json:"admin_key"`
			Secret   string                    `json:"secret"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.Secret, "sk_admin_") || !strings.HasPrefix(created.AdminKey.ID, "adm_") {
			t.Fatalf("keys create printed %q (%v)", out, err)
		}

		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c := env.Client(t)
		c.Register("bob@example.com", "correct horse battery")
		bob, _ := env.Store.UserByEmail(context.Background(), "bob@example.com")
		admin := env.Client(t)
		admin.Bearer = created.Secret
		if r := admin.Call("admin.users.get", map[string]any{"user_id": bob.ID}); r.Status != 200 {
			t.Fatalf("admin.users.get with the CLI's key: %d %s", r.Status, r.Body)
		}

		if out, errOut, err := adminCLI(t, db, nil, "operators", "add", "BOB@example.com"); err != nil || !strings.Contains(out, "bob@example.com") {
			t.Fatalf("operators add: %v %q %q", err, out, errOut)
		}
		out, _, err = adminCLI(t, db, nil, "operators", "list", "--json")
		if err != nil || !strings.Contains(out, bob.ID) {
			t.Fatalf("operators list: %v %q", err, out)
		}
		// Bob's session is an operator's now, but only aal1: mfa_required.
		bobTok := c.Call("auth.login", map[string]any{"email": "bob@example.com", "password": "correct horse battery"}).Str("access_token")
		op := env.Client(t)
		op.Bearer = bobTok
		if r := op.Call("admin.users.get", map[string]any{"user_id": bob.ID}); r.Status != 403 || r.Code() != "mfa_required" {
			t.Fatalf("operator at aal1: %d %s", r.Status, r.Body)
		}
		if _, _, err := adminCLI(t, db, nil, "operators", "remove", "bob@example.com"); err != nil {
			t.Fatal(err)
		}
		if r := op.Call("admin.users.get", map[string]any{"user_id": bob.ID}); r.Status != 403 || r.Code() != "forbidden" {
			t.Fatalf("removed operator: %d %s", r.Status, r.Body)
		}

		out, _, err = adminCLI(t, db, nil, "keys", "list")
		if err != nil || !strings.Contains(out, created.AdminKey.ID) || !strings.Contains(out, "active") || strings.Contains(out, created.Secret) {
			t.Fatalf("keys list: %v %q", err, out)
		}
		if _, errOut, err := adminCLI(t, db, nil, "keys", "revoke", created.AdminKey.ID); err != nil {
			t.Fatalf("keys revoke: %v %s", err, errOut)
		}
		if r := admin.Call("admin.users.get", map[string]any{"user_id": bob.ID}); r.Status != 401 {
			t.Fatalf("revoked key: %d %s", r.Status, r.Body)
		}
		out, _, _ = adminCLI(t, db, nil, "keys", "list")
		if !strings.Contains(out, "revoked") {
			t.Fatalf("keys list after revoke: %q", out)
		}
	})
}

func TestAdminBootstrapCommandsRefuseBadInput(t *testing.T) {
	db := latchkeytest.SQLite(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"keys", "create"}, "needs a name"},
		{[]string{"keys", "create", "--name", "  "}, "needs a name"},
		{[]string{"keys", "create", "--name", "a\x01b"}, "needs a name"},
		{[]string{"keys", "create", "--name", strings.Repeat("k", 101)}, "needs a name"},
		{[]string{"keys", "revoke", "adm_nope"}, "No live admin key"},
		{[]string{"keys", "revoke"}, "usage"},
		{[]string{"keys", "explode"}, "usage"},
		{[]string{"keys"}, "create, list or revoke"},
		{[]string{"operators", "add", "nobody@example.com"}, "No account"},
		{[]string{"operators", "add", "not an email"}, "not a valid email"},
		{[]string{"operators", "add"}, "usage"},
		{[]string{"operators", "list", "extra"}, "usage"},
		{[]string{"nonsense"}, "unknown command"},
		{[]string{"keys", "list", "--database-url", "mysql://x"}, "must start with sqlite://"},
	}
	for _, c := range cases {
		out, errOut, err := adminCLI(t, db, nil, c.args...)
		if err == nil || !strings.Contains(errOut, c.want) {
			t.Errorf("admin %q: err %v, stdout %q, stderr %q; want an error saying %q", c.args, err, out, errOut, c.want)
		}
	}
}
