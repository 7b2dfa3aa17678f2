package server_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestRegister(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		r := c.Call("auth.register", map[string]any{"email": "  Ada@Example.com ", "password": pw, "name": "Ada", "org_name": "Analytical"})
		wantOK(t, "register", r)
		if r.Str("token_type") != "Bearer" || r.Str("access_token") == "" || r.Str("refresh_token") == "" || r.JSON["expires_in"] != 900.0 {
			t.Fatalf("register body: %s", r.Body)
		}
		u := r.Obj("user")
		if !strings.HasPrefix(u["id"].(string), "usr_") || u["email"] != "ada@example.com" || u["name"] != "Ada" ||
			u["email_verified"] != false || u["has_password"] != true {
			t.Fatalf("user object: %v", u)
		}
		if _, err := time.Parse(time.RFC3339, u["created_at"].(string)); err != nil || !strings.HasSuffix(u["created_at"].(string), "Z") {
			t.Errorf("created_at %v is not RFC 3339 UTC", u["created_at"])
		}
		if len(u) != 6 {
			t.Errorf("user object has fields %v, want exactly id,email,email_verified,name,has_password,created_at", u)
		}
		me := c.Get("auth.me")
		wantOK(t, "me", me)
		org := me.Obj("org")
		if org["name"] != "Analytical" || org["slug"] != "analytical" || !strings.HasPrefix(org["id"].(string), "org_") || me.Str("role") != "owner" {
			t.Errorf("the new org: %s", me.Body)
		}
		ms, err := env.Store.Members(t.Context(), org["id"].(string))
		if err != nil || len(ms) != 1 || ms[0].UserID != u["id"] || ms[0].Role != latchkey.RoleOwner {
			t.Errorf("members of the new org: %+v, %v", ms, err)
		}
		// Without org_name the org is named after the user.
		r2 := env.Client(t).Call("auth.register", map[string]any{"email": "bob@example.com", "password": pw})
		wantOK(t, "register bob", r2)
		if me := bearer(t, env, r2.Str("access_token")).Get("auth.me"); me.Obj("org")["name"] != "bob's org" {
			t.Errorf("default org name: %s", me.Body)
		}

		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"taken email", map[string]any{"email": "ada@example.com", "password": pw}, 409, "email_taken", ""},
			{"taken email in another case", map[string]any{"email": "ADA@EXAMPLE.COM", "password": pw}, 409, "email_taken", ""},
			{"short password", map[string]any{"email": "c@example.com", "password": "seven77"}, 400, "weak_password", "password"},
			{"long password", map[string]any{"email": "c@example.com", "password": strings.Repeat("x", 129)}, 400, "weak_password", "password"},
			{"common password", map[string]any{"email": "c@example.com", "password": "password123"}, 400, "weak_password", "password"},
			{"common password in capitals", map[string]any{"email": "c@example.com", "password": "PASSWORD123"}, 400, "weak_password", "password"},
			{"missing password", map[string]any{"email": "c@example.com"}, 400, "invalid_request", "password"},
			{"invalid email", map[string]any{"email": "not-an-email", "password": pw}, 400, "invalid_request", "email"},
			{"email with a display name", map[string]any{"email": "Ada <x@example.com>", "password": pw}, 400, "invalid_request", "email"},
			{"missing email", map[string]any{"password": pw}, 400, "invalid_request", "email"},
			{"name with control characters", map[string]any{"email": "c@example.com", "password": pw, "name": "a\u0007b"}, 400, "invalid_request", "name"},
		} {
			r := env.Client(t).Call("auth.register", tc.body)
			expectError(t, tc.name, r, tc.status, tc.code)
			if f, _ := field(r); f != tc.field {
				t.Errorf("%s: field %q, want %q", tc.name, f, tc.field)
			}
			if r.Cookie("latchkey_access") != nil {
				t.Errorf("%s: a failed register set cookies", tc.name)
			}
		}
		// 8 and 128 characters are allowed.
		wantOK(t, "8 characters", env.Client(t).Call("auth.register", map[string]any{"email": "eight@example.com", "password": "zq8#kx2!"}))
		wantOK(t, "128 characters", env.Client(t).Call("auth.register", map[string]any{"email": "long@example.com", "password": strings.Repeat("ab", 64)}))
	})
}

func TestLogin(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		env.Client(t).Register("ada@example.com", pw)
		_, r := login(t, env, "ADA@example.com", pw)
		if r.Obj("user")["email"] != "ada@example.com" || r.Str("access_token") == "" || r.Cookie("latchkey_access") == nil || r.Cookie("latchkey_refresh") == nil {
			t.Fatalf("login: %s", r.Body)
		}
		wantTokenWorks(t, env, "login's access token", r.Str("access_token"))

		unknown := env.Client(t).Call("auth.login", map[string]any{"email": "nobody@example.com", "password": pw})
		wrong := env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com", "password": pw + "!"})
		expectError(t, "unknown email", unknown, 401, "invalid_credentials")
		expectError(t, "wrong password", wrong, 401, "invalid_credentials")
		if unknown.JSON["error"].(map[string]any)["message"] != wrong.JSON["error"].(map[string]any)["message"] {
			t.Errorf("unknown email and wrong password differ: %s vs %s", unknown.Body, wrong.Body)
		}

		// No password, with OAuth identities: oauth_only_account listing them.
		env.Client(t).Register("oauth@example.com", pw)
		dropPassword(t, env, "oauth@example.com")
		linkOAuth(t, db, user(t, env, "oauth@example.com").ID, "github")
		linkOAuth(t, db, user(t, env, "oauth@example.com").ID, "google")
		r = env.Client(t).Call("auth.login", map[string]any{"email": "oauth@example.com", "password": pw})
		expectError(t, "oauth-only", r, 401, "oauth_only_account")
		if p := providers(r); strings.Join(p, ",") != "github,google" {
			t.Errorf("providers = %v, want [github google]", p)
		}
		// No password and no identity: password_not_set.
		env.Client(t).Register("passkey@example.com", pw)
		dropPassword(t, env, "passkey@example.com")
		r = env.Client(t).Call("auth.login", map[string]any{"email": "passkey@example.com", "password": pw})
		expectError(t, "password-less", r, 401, "password_not_set")

		// An imported bcrypt hash verifies and is replaced by argon2id at login.
		imported := latchkey.User{ID: "usr_imported", Email: "imported@example.com", CreatedAt: env.Service.Now(), UpdatedAt: env.Service.Now()}
		hash, _ := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		imported.PasswordHash = string(hash)
		if err := env.Store.CreateUser(t.Context(), imported); err != nil {
			t.Fatal(err)
		}
		org := newOrg(t, env, "Imported")
		addMember(t, env, imported.ID, org.ID, latchkey.RoleOwner)
		expectError(t, "bcrypt, wrong password", env.Client(t).Call("auth.login", map[string]any{"email": "imported@example.com", "password": "wrong guess!"}), 401, "invalid_credentials")
		if h := user(t, env, "imported@example.com").PasswordHash; h != string(hash) {
			t.Errorf("a failed login rehashed: %s", h)
		}
		login(t, env, "imported@example.com", pw)
		if h := user(t, env, "imported@example.com").PasswordHash; !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("after login the hash is %.10s…, want argon2id", h)
		}
		login(t, env, "imported@example.com", pw)

		wantField(t, "missing password", env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com"}), "password")
		wantField(t, "bad email", env.Client(t).Call("auth.login", map[string]any{"email": "ada", "password": pw}), "email")
	})
}

func providers(r *latchkeytest.Response) []string {
	e, _ := r.JSON["error"].(map[string]any)
	list, _ := e["providers"].([]any)
	var out []string
	for _, p := range list {
		out = append(out, p.(string))
	}
	return out
}

func TestLoginOrRegister(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		call := func(email, password string) *latchkeytest.Response {
			return env.Client(t).Call("auth.login_or_register", map[string]any{"email": email, "password": password})
		}
		r := call("New@Example.com", pw)
		wantOK(t, "new account", r)
		if r.JSON["created"] != true || r.Str("access_token") == "" || r.Obj("user")["email"] != "new@example.com" {
			t.Fatalf("new account: %s", r.Body)
		}
		me := bearer(t, env, r.Str("access_token")).Get("auth.me")
		if me.Str("role") != "owner" {
			t.Errorf("the new account does not own an org: %s", me.Body)
		}
		r = call("new@example.com", pw)
		wantOK(t, "existing account", r)
		if r.JSON["created"] != false || r.Obj("user")["email"] != "new@example.com" {
			t.Fatalf("existing account: %s", r.Body)
		}
		expectError(t, "wrong password", call("new@example.com", "wrong password!"), 401, "invalid_credentials")
		expectError(t, "weak password on a new account", call("other@example.com", "short"), 400, "weak_password")
		expectError(t, "common password on a new account", call("other@example.com", "iloveyou"), 400, "weak_password")

		env.Client(t).Register("oauth@example.com", pw)
		dropPassword(t, env, "oauth@example.com")
		linkOAuth(t, db, user(t, env, "oauth@example.com").ID, "github")
		r = call("oauth@example.com", pw)
		expectError(t, "oauth-only", r, 401, "oauth_only_account")
		if p := providers(r); len(p) != 1 || p[0] != "github" {
			t.Errorf("providers = %v, want [github]", p)
		}
		env.Client(t).Register("passkey@example.com", pw)
		dropPassword(t, env, "passkey@example.com")
		expectError(t, "password-less", call("passkey@example.com", pw), 401, "password_not_set")
	})
}

func TestProviders(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		for _, r := range []*latchkeytest.Response{c.Get("auth.providers"), c.Call("auth.providers", map[string]any{})} {
			wantOK(t, "providers", r)
			_, ssoFlag := r.Obj("sso")["enabled"].(bool)
			if r.Obj("password")["enabled"] != true || r.Obj("passkey")["enabled"] != false || !ssoFlag || len(r.JSON) != 4 {
				t.Errorf("providers: %s", r.Body)
			}
			if list, ok := r.JSON["oauth"].([]any); !ok || len(list) != 0 {
				t.Errorf("oauth providers: %s", r.Body)
			}
		}
	})
}

func TestPasswordChange(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		_, other := login(t, env, "ada@example.com", pw)
		change := func(cur, next string) *latchkeytest.Response {
			return c.Call("auth.password.change", map[string]any{"current_password": cur, "new_password": next})
		}
		expectError(t, "wrong current", change("wrong one!", "another good one"), 401, "invalid_credentials")
		expectError(t, "unchanged", change(pw, pw), 400, "password_unchanged")
		r := change(pw, "short")
		expectError(t, "weak", r, 400, "weak_password")
		if f, _ := field(r); f != "new_password" {
			t.Errorf("weak new password: field %q", f)
		}
		expectError(t, "common", change(pw, "qwertyuiop"), 400, "weak_password")
		wantField(t, "missing new", c.Call("auth.password.change", map[string]any{"current_password": pw}), "new_password")
		wantField(t, "missing current", c.Call("auth.password.change", map[string]any{"new_password": "another good one"}), "current_password")
		wantTokenWorks(t, env, "other session before the change", other.Str("access_token"))

		wantOK(t, "change", change(pw, "another good one"))
		wantOK(t, "current session after the change", c.Get("auth.me"))
		wantTokenDead(t, env, "other session after the change", other.Str("access_token"))
		expectError(t, "other session's refresh", refreshWith(t, env, other.Str("refresh_token")), 401, "invalid_token")
		expectError(t, "old password", env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com", "password": pw}), 401, "invalid_credentials")
		login(t, env, "ada@example.com", "another good one")
		expectError(t, "anonymous", env.Client(t).Call("auth.password.change", map[string]any{"current_password": pw, "new_password": "x"}), 401, "unauthenticated")
	})
}

func TestPasswordSet(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Register("ada@example.com", pw)
		expectError(t, "has a password", c.Call("auth.password.set", map[string]any{"password": "another good one"}), 409, "password_already_set")

		p := env.Client(t)
		p.Register("nopw@example.com", pw)
		dropPassword(t, env, "nopw@example.com")
		_, other := login(t, env, "ada@example.com", pw) // another user's session is untouched
		if me := p.Get("auth.me"); me.Obj("user")["has_password"] != false {
			t.Fatalf("has_password after dropping it: %s", me.Body)
		}
		expectError(t, "weak", p.Call("auth.password.set", map[string]any{"password": "1234567"}), 400, "weak_password")
		expectError(t, "change without a password", p.Call("auth.password.change", map[string]any{"current_password": pw, "new_password": "a brand new secret"}), 401, "password_not_set")
		wantField(t, "missing", p.Call("auth.password.set", map[string]any{}), "password")
		wantOK(t, "set", p.Call("auth.password.set", map[string]any{"password": "a brand new secret"}))
		if me := p.Get("auth.me"); me.Status != 200 || me.Obj("user")["has_password"] != true {
			t.Fatalf("after set: %s", me.Body)
		}
		login(t, env, "nopw@example.com", "a brand new secret")
		wantTokenWorks(t, env, "another user's session", other.Str("access_token"))
		expectError(t, "set twice", p.Call("auth.password.set", map[string]any{"password": "yet another secret"}), 409, "password_already_set")
	})
}

func TestAccountDelete(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		ctx := t.Context()
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		_, other := login(t, env, "ada@example.com", pw)
		orgID := bearer(t, env, reg.Str("access_token")).Get("auth.me").Obj("org")["id"].(string)

		wantField(t, "no password", c.Call("auth.account.delete", map[string]any{}), "password")
		wantField(t, "empty password", c.Call("auth.account.delete", map[string]any{"password": ""}), "password")
		expectError(t, "wrong password", c.Call("auth.account.delete", map[string]any{"password": "wrong one!"}), 401, "invalid_credentials")

		// An org Ada owns alone with another member blocks the deletion.
		bob := env.Client(t)
		bob.Register("bob@example.com", pw)
		addMember(t, env, user(t, env, "bob@example.com").ID, orgID, latchkey.RoleMember)
		expectError(t, "org with other members", c.Call("auth.account.delete", map[string]any{"password": pw}), 409, "org_has_other_members")
		wantOK(t, "still signed in", c.Get("auth.me"))

		// Bob, a plain member there, can leave by deleting his account; his own org goes.
		bobOrg := bob.Get("auth.me").Obj("org")["id"].(string)
		r := bob.Call("auth.account.delete", map[string]any{"password": pw})
		wantOK(t, "bob deletes", r)
		if _, err := env.Store.OrgByID(ctx, bobOrg); err == nil {
			t.Error("bob's solo org survived")
		}
		if n, _ := env.Store.CountMembers(ctx, orgID); n != 1 {
			t.Errorf("ada's org has %d members after bob left, want 1", n)
		}

		r = c.Call("auth.account.delete", map[string]any{"password": pw})
		wantOK(t, "ada deletes", r)
		for _, name := range []string{"latchkey_access", "latchkey_refresh"} {
			if ck := parsedSetCookie(t, r, name); ck.MaxAge >= 0 || ck.Value != "" {
				t.Errorf("%s not cleared: %+v", name, ck)
			}
		}
		if _, err := env.Store.UserByEmail(ctx, "ada@example.com"); err == nil {
			t.Error("user survived")
		}
		if _, err := env.Store.OrgByID(ctx, orgID); err == nil {
			t.Error("solo org survived")
		}
		wantTokenDead(t, env, "the deleted user's other session", other.Str("access_token"))
		wantTokenDead(t, env, "the deleted user's session", reg.Str("access_token"))
		expectError(t, "login after delete", env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com", "password": pw}), 401, "invalid_credentials")
		env.Client(t).Register("ada@example.com", pw) // the address is free again
	})
}

func TestAccountDeleteWithoutPassword(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		stale := env.Client(t)
		stale.Register("stale@example.com", pw)
		dropPassword(t, env, "stale@example.com")

		env.Clock.Advance(16 * time.Minute)
		// The access tokens expired with the clock; a refresh renews them
		// but not the time of sign-in.
		wantOK(t, "refresh", stale.Call("auth.refresh", nil))
		expectError(t, "stale sign-in", stale.Call("auth.account.delete", map[string]any{}), 403, "reauthentication_required")
		if _, err := env.Store.UserByEmail(t.Context(), "stale@example.com"); err != nil {
			t.Fatal("deleted despite reauthentication_required")
		}
		// Within 15 minutes of signing in, no password is needed.
		recent := env.Client(t)
		recent.Register("recent@example.com", pw)
		dropPassword(t, env, "recent@example.com")
		env.Clock.Advance(14 * time.Minute)
		wantOK(t, "recent sign-in", recent.Call("auth.account.delete", map[string]any{}))
		if _, err := env.Store.UserByEmail(t.Context(), "recent@example.com"); err == nil {
			t.Error("user survived")
		}
	})
}

var idPattern = regexp.MustCompile(`^ses_[a-z0-9]+$`)

// TestPasswordSetRace: of two concurrent auth.password.set calls on an
// account without a password, exactly one sets it.
func TestPasswordSetRace(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		token := env.Client(t).Register("ada@example.com", pw).Str("access_token")
		dropPassword(t, env, "ada@example.com")
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i, secret := range []string{"first new secret", "second new secret"} {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/auth.password.set", strings.NewReader(`{"password": "`+secret+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				statuses[i], _, _, _ = send(req)
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		if statuses[0] != 200 || statuses[1] != 409 {
			t.Fatalf("statuses %v, want one 200 and one 409", statuses)
		}
	})
}

// TestOrgSlugTaken: two orgs of the same name get distinct slugs, on both
// databases (on PostgreSQL a failed INSERT aborts its transaction, so the
// retry must not run inside it).
func TestOrgSlugTaken(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		slugs := map[string]bool{}
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			r := env.Client(t).Call("auth.register", map[string]any{"email": email, "password": pw, "org_name": "Acme"})
			wantOK(t, "register "+email, r)
			org := bearer(t, env, r.Str("access_token")).Get("auth.me").Obj("org")
			slug, _ := org["slug"].(string)
			if org["name"] != "Acme" || !strings.HasPrefix(slug, "acme") || slugs[slug] {
				t.Errorf("org of %s: %v (slugs so far %v)", email, org, slugs)
			}
			slugs[slug] = true
		}
	})
}

// TestLoginOrRegisterRace: concurrent first calls for one new address
// create one account; the others log in to it.
func TestLoginOrRegisterRace(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		const n = 3
		type result struct {
			status int
			body   string
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/auth.login_or_register", strings.NewReader(`{"email": "race@example.com", "password": "`+pw+`"}`))
				req.Header.Set("Content-Type", "application/json")
				status, _, body, _ := send(req)
				results[i] = result{status, string(body)}
			})
		}
		wg.Wait()
		created := 0
		for _, r := range results {
			if r.status != 200 {
				t.Fatalf("a concurrent call: %d %s", r.status, r.body)
			}
			if strings.Contains(r.body, `"created":true`) {
				created++
			}
		}
		if created != 1 {
			t.Errorf("%d calls created the account, want 1", created)
		}
	})
}
