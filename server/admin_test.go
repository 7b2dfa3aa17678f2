package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// adminFixture is a server with an admin key, an operator, a plain user
// and that user's org API key.
type adminFixture struct {
	env      *latchkeytest.Env
	key      string // sk_admin_…
	keyID    string
	user     *latchkeytest.Client // cookie session of a non-operator
	userTok  string
	userID   string
	orgID    string
	orgKey   string // sk_live_… with org:admin
	opTok    string // an operator's aal1 session
	operator latchkey.User
}

func newAdminFixture(t *testing.T, env *latchkeytest.Env) *adminFixture {
	t.Helper()
	ctx := context.Background()
	f := &adminFixture{env: env}
	k, sec, err := env.Service.CreateAdminKey(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.key, f.keyID = sec.Reveal(), k.ID
	f.user = env.Client(t)
	r := f.user.Register("alice@example.com", pw)
	f.userTok = r.Str("access_token")
	u := user(t, env, "alice@example.com")
	f.userID = u.ID
	ms, err := env.Store.MembershipsOfUser(ctx, u.ID)
	if err != nil || len(ms) == 0 {
		t.Fatalf("memberships: %v %v", ms, err)
	}
	f.orgID = ms[0].OrgID
	f.orgKey, _ = newKey(t, f.user, "api:read", "api:write", "org:admin")
	op := env.Client(t).Register("operator@example.com", pw)
	f.opTok = op.Str("access_token")
	if f.operator, err = env.Service.SetOperator(ctx, "operator@example.com", true); err != nil {
		t.Fatal(err)
	}
	return f
}

// adminOps lists every admin.* operation the server publishes, so a new
// one is covered by the refusal tests without editing them.
func adminOps(t *testing.T, env *latchkeytest.Env) []string {
	t.Helper()
	r := env.Client(t).Get("openapi.json")
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for p := range doc.Paths {
		if name, ok := strings.CutPrefix(p, "/v1/admin."); ok {
			ops = append(ops, "admin."+name)
		}
	}
	slices.Sort(ops)
	if len(ops) == 0 {
		t.Fatal("no admin.* operation published")
	}
	return ops
}

func TestAdminRefusesEveryOtherCredential(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		revoked, sec, _ := env.Service.CreateAdminKey(context.Background(), "old")
		if err := env.Service.RevokeAdminKey(context.Background(), revoked.ID); err != nil {
			t.Fatal(err)
		}
		body := map[string]any{}
		cases := []struct {
			name   string
			client *latchkeytest.Client
			status int
			code   string
		}{
			{"no credential", env.Client(t), 401, "unauthenticated"},
			{"garbage bearer", bearer(t, env, "garbage"), 401, "invalid_token"},
			{"unknown admin key", bearer(t, env, latchkey.AdminKeyPrefix+"nope"), 401, "invalid_token"},
			{"revoked admin key", bearer(t, env, sec.Reveal()), 401, "invalid_token"},
			{"admin key prefix only", bearer(t, env, latchkey.AdminKeyPrefix), 401, "invalid_token"},
			{"overlong admin key", bearer(t, env, f.key+strings.Repeat("a", 200)), 401, "invalid_token"},
			{"non-operator bearer session", bearer(t, env, f.userTok), 403, "forbidden"},
			{"non-operator cookie session", f.user, 403, "forbidden"},
			{"org API key with org:admin", bearer(t, env, f.orgKey), 403, "forbidden"},
			{"operator session below aal2", bearer(t, env, f.opTok), 403, "mfa_required"},
		}
		for _, op := range adminOps(t, env) {
			for _, c := range cases {
				expectError(t, op+" with "+c.name, c.client.Call(op, body), c.status, c.code)
			}
		}
	})
}

func TestAdminCredentialWorksNowhereElse(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		for _, op := range []string{"auth.me", "org.members.list", "org.api_keys.list", "auth.sessions.list"} {
			expectError(t, op+" with an admin key", admin.Call(op, map[string]any{}), 403, "wrong_credential_kind")
		}
		// An operator's session is an ordinary session outside admin.*.
		wantOK(t, "operator's auth.me", bearer(t, env, f.opTok).Get("auth.me"))
		if err := env.Service.RevokeAdminKey(context.Background(), f.keyID); err != nil {
			t.Fatal(err)
		}
		expectError(t, "auth.me with a revoked admin key", admin.Get("auth.me"), 401, "invalid_token")
		expectError(t, "admin.users.get with a revoked admin key", admin.Call("admin.users.get", map[string]any{"user_id": f.userID}), 401, "invalid_token")
	})
}

func TestAdminUsersGet(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		factorID, _, _ := enrollTOTP(t, env, f.user)
		wantOK(t, "an enrollment left unconfirmed", f.user.Call("auth.mfa.totp.enroll", map[string]any{"name": "Tablet"}))
		r := admin.Call("admin.users.get", map[string]any{"user_id": f.userID})
		wantOK(t, "admin.users.get", r)
		if fs, _ := r.JSON["factors"].([]any); len(fs) != 1 || fs[0].(map[string]any)["id"] != factorID || fs[0].(map[string]any)["type"] != "totp" {
			t.Errorf("factors %v, want only the confirmed one", r.JSON["factors"])
		}
		u := r.Obj("user")
		if u["id"] != f.userID || u["email"] != "alice@example.com" || u["disabled"] != false || u["last_sign_in_at"] == nil {
			t.Errorf("user %v", u)
		}
		ms, _ := r.JSON["memberships"].([]any)
		if len(ms) != 1 || ms[0].(map[string]any)["org_id"] != f.orgID || ms[0].(map[string]any)["role"] != "owner" {
			t.Errorf("memberships %v", ms)
		}
		if ss, _ := r.JSON["sessions"].([]any); len(ss) != 1 {
			t.Errorf("sessions %v", r.JSON["sessions"])
		}
		for _, leak := range []string{"argon2", "password_hash", "secret", "hash"} {
			if strings.Contains(string(r.Body), leak) {
				t.Errorf("admin.users.get shows %q: %s", leak, r.Body)
			}
		}
		events, err := env.Store.AuditEvents(context.Background(), f.keyID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(events, func(e latchkey.AuditEvent) bool {
			return e.Action == "admin.users.get" && e.Target == f.userID
		}) {
			t.Errorf("no audit event naming admin key %s and target %s: %+v", f.keyID, f.userID, events)
		}
	})
}

func TestAdminUsersGetHostile(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		f := newAdminFixture(t, env)
		admin := bearer(t, env, f.key)
		cases := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"missing user_id", map[string]any{}, 400, "invalid_request"},
			{"blank user_id", map[string]any{"user_id": "  "}, 400, "invalid_request"},
			{"number", map[string]any{"user_id": 7}, 400, "invalid_request"},
			{"array", map[string]any{"user_id": []string{f.userID}}, 400, "invalid_request"},
			{"unknown field", map[string]any{"user_id": f.userID, "force": true}, 400, "invalid_request"},
			{"NUL", map[string]any{"user_id": "usr_\u0000"}, 400, "invalid_request"},
			{"not a body", "[1,2]", 400, "invalid_request"},
			{"unknown id", map[string]any{"user_id": "usr_doesnotexist"}, 404, "not_found"},
			{"other prefix", map[string]any{"user_id": f.orgID}, 404, "not_found"},
			{"SQL", map[string]any{"user_id": "usr_' OR '1'='1"}, 404, "not_found"},
			{"overlong", map[string]any{"user_id": "usr_" + strings.Repeat("x", 5000)}, 404, "not_found"},
			{"emoji", map[string]any{"user_id": "usr_🔑"}, 404, "not_found"},
		}
		for _, c := range cases {
			expectError(t, c.name, admin.Call("admin.users.get", c.body), c.status, c.code)
		}
		expectError(t, "GET", admin.Get("admin.users.get"), http.StatusMethodNotAllowed, "method_not_allowed")
	})
}
