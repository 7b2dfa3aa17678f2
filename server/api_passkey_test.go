package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestPasskeySignUpAndSignIn(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone := env.authenticator()
		c := env.Client(t)

		id, opts := begin(t, c, "auth.passkey.register.begin", map[string]any{"email": "Ada@Example.com"})
		var creation struct {
			PublicKey struct {
				RP                     struct{ ID string }   `json:"rp"`
				User                   struct{ Name string } `json:"user"`
				AuthenticatorSelection map[string]any        `json:"authenticatorSelection"`
				Exclude                []map[string]any      `json:"excludeCredentials"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(opts, &creation); err != nil {
			t.Fatal(err)
		}
		pk := creation.PublicKey
		if pk.RP.ID != "localhost" || pk.User.Name != "ada@example.com" ||
			pk.AuthenticatorSelection["residentKey"] != "preferred" || pk.AuthenticatorSelection["userVerification"] != "preferred" {
			t.Fatalf("creation options: %s", opts)
		}
		// Nothing exists until the ceremony finishes.
		if _, err := env.Store.UserByEmail(t.Context(), "ada@example.com"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Fatalf("user exists before finish: %v", err)
		}
		cred, err := phone.Create(opts)
		if err != nil {
			t.Fatal(err)
		}
		r := finish(c, "auth.passkey.register.finish", id, cred, nil)
		if r.Status != http.StatusOK || r.Str("access_token") == "" || r.Cookie("latchkey_access") == nil {
			t.Fatalf("register.finish: %d %s", r.Status, r.Body)
		}
		user := r.Obj("user")
		if user["email"] != "ada@example.com" || user["has_password"] != false {
			t.Errorf("user = %v", user)
		}
		if r.Obj("passkey")["name"] != "Passkey" || r.Obj("passkey")["id"] == "" {
			t.Errorf("passkey = %v", r.Obj("passkey"))
		}
		userID := user["id"].(string)
		me := c.Get("auth.me")
		if me.Status != http.StatusOK || me.Obj("user")["id"] != userID || me.Str("role") != "owner" {
			t.Fatalf("auth.me after passkey sign-up: %d %s", me.Status, me.Body)
		}
		signups := env.Events.find("signup_completed")
		if len(signups) != 1 || signups[0].Props["method"] != "passkey" || signups[0].DistinctID != userID {
			t.Errorf("signup_completed events = %+v", signups)
		}
		if acts := auditActions(t, env.Env, userID); !slices.Contains(acts, "user.registered") || !slices.Contains(acts, "passkey.added") {
			t.Errorf("audit = %v", acts)
		}

		// The same email again is taken.
		again := env.Client(t).Call("auth.passkey.register.begin", map[string]any{"email": "ada@example.com"})
		wantError(t, again, http.StatusConflict, "email_taken")

		// Sign in with the email: allowCredentials lists the passkey.
		other := env.Client(t)
		lid, lopts := begin(t, other, "auth.passkey.login.begin", map[string]any{"email": "ada@example.com"})
		var request struct {
			PublicKey struct {
				Allow []map[string]any `json:"allowCredentials"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(lopts, &request); err != nil {
			t.Fatal(err)
		}
		if len(request.PublicKey.Allow) != 1 || request.PublicKey.Allow[0]["id"] != b64(phone.Credentials()[0].ID) {
			t.Fatalf("allowCredentials = %v", request.PublicKey.Allow)
		}
		assertion, err := phone.Get(lopts)
		if err != nil {
			t.Fatal(err)
		}
		in := finish(other, "auth.passkey.login.finish", lid, assertion, nil)
		if in.Status != http.StatusOK || in.Obj("user")["id"] != userID || in.Str("access_token") == "" {
			t.Fatalf("login.finish with email: %d %s", in.Status, in.Body)
		}
		if ev := env.Events.find("login_succeeded"); len(ev) != 1 || ev[0].Props["method"] != "passkey" {
			t.Errorf("login_succeeded events = %+v", ev)
		}

		// Sign in without an email: a discoverable credential.
		third := env.Client(t)
		in = signIn(t, third, phone, "")
		if in.Status != http.StatusOK || in.Obj("user")["id"] != userID {
			t.Fatalf("discoverable login: %d %s", in.Status, in.Body)
		}
		if third.Get("auth.me").Status != http.StatusOK {
			t.Fatal("no session after discoverable login")
		}
		if ps := listPasskeys(t, third); len(ps) != 1 || ps[0]["last_used_at"] == nil {
			t.Errorf("passkeys after sign-in = %v, want one with last_used_at", ps)
		}

		// Passwords are not a way into a passkey-only account.
		pw := env.Client(t).Call("auth.login", map[string]any{"email": "ada@example.com", "password": "whatever123"})
		wantError(t, pw, http.StatusUnauthorized, "password_not_set")
	})
}

func TestPasskeyLoginUnknownEmailSameShape(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone := env.authenticator()
		signUp(t, env.Client(t), phone, "ada@example.com")

		shape := func(email string) (map[string]any, []any) {
			_, opts := begin(t, env.Client(t), "auth.passkey.login.begin", map[string]any{"email": email})
			var o struct {
				PublicKey map[string]any `json:"publicKey"`
			}
			if err := json.Unmarshal(opts, &o); err != nil {
				t.Fatal(err)
			}
			allow, ok := o.PublicKey["allowCredentials"].([]any)
			if !ok {
				t.Fatalf("options for %s lack an allowCredentials list: %v", email, o.PublicKey)
			}
			return o.PublicKey, allow
		}
		known, knownAllow := shape("ada@example.com")
		unknown, unknownAllow := shape("nobody@example.com")
		if len(knownAllow) != 1 || len(unknownAllow) != 0 {
			t.Fatalf("allowCredentials: known %v, unknown %v", knownAllow, unknownAllow)
		}
		for k := range known {
			if _, ok := unknown[k]; !ok {
				t.Errorf("unknown email options lack %q", k)
			}
		}
		for k := range unknown {
			if _, ok := known[k]; !ok {
				t.Errorf("unknown email options have extra %q", k)
			}
		}
		// With an empty list a browser offers any passkey it has; it must
		// not sign anyone in for an email without an account.
		c := env.Client(t)
		wantError(t, signIn(t, c, phone, "nobody@example.com"), http.StatusUnauthorized, "invalid_credentials")
	})
}

func TestPasskeyAbandonedSignUpLeavesNoAccount(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		c := env.Client(t)
		begin(t, c, "auth.passkey.register.begin", map[string]any{"email": "gone@example.com"})
		if _, err := env.Store.UserByEmail(t.Context(), "gone@example.com"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Fatalf("abandoned sign-up left a user: %v", err)
		}
		// The address is still free, for a password as well.
		c.Register("gone@example.com", "correct horse battery")
	})
}

func TestSecondPasskeyRenameAndDeleteGuard(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone, laptop := env.authenticator(), env.authenticator()
		c := env.Client(t)
		userID := signUp(t, c, phone, "ada@example.com").Obj("user")["id"].(string)
		first := listPasskeys(t, c)[0]["id"].(string)

		// The only way in cannot be deleted.
		wantError(t, c.Call("auth.passkey.delete", map[string]any{"id": first}), http.StatusConflict, "last_auth_method")

		// A second passkey, from another device; the first is excluded.
		_, opts := begin(t, c, "auth.passkey.register.begin", map[string]any{})
		if _, err := phone.Create(opts); err == nil {
			t.Error("the device already holding a passkey was not excluded")
		}
		r := addPasskey(t, c, laptop, "Laptop")
		if r.Status != http.StatusOK || r.Obj("passkey")["name"] != "Laptop" || r.Str("access_token") != "" {
			t.Fatalf("adding a passkey: %d %s", r.Status, r.Body)
		}
		second := r.Obj("passkey")["id"].(string)
		if ps := listPasskeys(t, c); len(ps) != 2 || ps[0]["id"] != first || ps[1]["id"] != second {
			t.Fatalf("list = %v", ps)
		}
		if in := signIn(t, env.Client(t), laptop, "ada@example.com"); in.Status != http.StatusOK || in.Obj("user")["id"] != userID {
			t.Fatalf("sign-in with the second passkey: %d %s", in.Status, in.Body)
		}

		// Renaming.
		rn := c.Call("auth.passkey.rename", map[string]any{"id": first, "name": "  Phone  "})
		if rn.Status != http.StatusOK || rn.Obj("passkey")["name"] != "Phone" {
			t.Fatalf("rename: %d %s", rn.Status, rn.Body)
		}
		wantError(t, c.Call("auth.passkey.rename", map[string]any{"id": first, "name": ""}), http.StatusBadRequest, "invalid_request")
		wantError(t, c.Call("auth.passkey.rename", map[string]any{"id": "cred_nope", "name": "x"}), http.StatusNotFound, "not_found")

		// Someone else's passkey is not theirs to touch.
		stranger := env.Client(t)
		stranger.Register("eve@example.com", "correct horse battery")
		wantError(t, stranger.Call("auth.passkey.delete", map[string]any{"id": second}), http.StatusNotFound, "not_found")
		wantError(t, stranger.Call("auth.passkey.rename", map[string]any{"id": second, "name": "mine"}), http.StatusNotFound, "not_found")

		// With two, one may go; the deleted one no longer signs in.
		if d := c.Call("auth.passkey.delete", map[string]any{"id": first}); d.Status != http.StatusOK {
			t.Fatalf("delete: %d %s", d.Status, d.Body)
		}
		wantError(t, signIn(t, env.Client(t), phone, ""), http.StatusUnauthorized, "invalid_credentials")
		wantError(t, c.Call("auth.passkey.delete", map[string]any{"id": second}), http.StatusConflict, "last_auth_method")

		// A password is another way in: then the last passkey may go.
		if r := c.Call("auth.password.set", map[string]any{"password": "correct horse battery"}); r.Status != http.StatusOK {
			t.Fatalf("password.set: %d %s", r.Status, r.Body)
		}
		if d := c.Call("auth.passkey.delete", map[string]any{"id": second}); d.Status != http.StatusOK {
			t.Fatalf("delete the last passkey of an account with a password: %d %s", d.Status, d.Body)
		}
		if ps := listPasskeys(t, c); len(ps) != 0 {
			t.Errorf("list after deletes = %v", ps)
		}
		if acts := auditActions(t, env.Env, userID); !slices.Contains(acts, "passkey.deleted") || !slices.Contains(acts, "passkey.renamed") {
			t.Errorf("audit = %v", acts)
		}
	})
}

func TestPasskeyChallengeIsSingleUseAndShortLived(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone := env.authenticator()
		signUp(t, env.Client(t), phone, "ada@example.com")

		t.Run("replayed login", func(t *testing.T) {
			c := env.Client(t)
			id, opts := begin(t, c, "auth.passkey.login.begin", map[string]any{})
			cred, err := phone.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			if r := finish(c, "auth.passkey.login.finish", id, cred, nil); r.Status != http.StatusOK {
				t.Fatalf("first use: %d %s", r.Status, r.Body)
			}
			wantError(t, finish(env.Client(t), "auth.passkey.login.finish", id, cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
		t.Run("replayed sign-up", func(t *testing.T) {
			c := env.Client(t)
			id, opts := begin(t, c, "auth.passkey.register.begin", map[string]any{"email": "bob@example.com"})
			cred, err := env.authenticator().Create(opts)
			if err != nil {
				t.Fatal(err)
			}
			if r := finish(c, "auth.passkey.register.finish", id, cred, nil); r.Status != http.StatusOK {
				t.Fatalf("first use: %d %s", r.Status, r.Body)
			}
			wantError(t, finish(env.Client(t), "auth.passkey.register.finish", id, cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
		t.Run("failed attempt burns the challenge", func(t *testing.T) {
			c := env.Client(t)
			id, opts := begin(t, c, "auth.passkey.login.begin", map[string]any{})
			cred, err := phone.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, finish(c, "auth.passkey.login.finish", id, []byte(`{"id":"x"}`), nil), http.StatusBadRequest, "invalid_request")
			wantError(t, finish(c, "auth.passkey.login.finish", id, cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
		t.Run("expired", func(t *testing.T) {
			c := env.Client(t)
			id, opts := begin(t, c, "auth.passkey.login.begin", map[string]any{})
			cred, err := phone.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(6 * time.Minute)
			wantError(t, finish(c, "auth.passkey.login.finish", id, cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
		t.Run("challenge of the other ceremony", func(t *testing.T) {
			c := env.Client(t)
			id, opts := begin(t, c, "auth.passkey.login.begin", map[string]any{})
			cred, err := phone.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, finish(c, "auth.passkey.register.finish", id, cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
		t.Run("answer to another challenge", func(t *testing.T) {
			c := env.Client(t)
			_, opts := begin(t, c, "auth.passkey.login.begin", map[string]any{})
			cred, err := phone.Get(opts)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := begin(t, c, "auth.passkey.login.begin", map[string]any{})
			wantError(t, finish(c, "auth.passkey.login.finish", id, cred, nil), http.StatusUnauthorized, "invalid_credentials")
		})
		t.Run("unknown challenge", func(t *testing.T) {
			cred := []byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`)
			wantError(t, finish(env.Client(t), "auth.passkey.login.finish", "not-a-challenge", cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
		t.Run("another user's add ceremony", func(t *testing.T) {
			alice := env.Client(t)
			signUp(t, alice, env.authenticator(), "alice@example.com")
			id, opts := begin(t, alice, "auth.passkey.register.begin", map[string]any{})
			cred, err := env.authenticator().Create(opts)
			if err != nil {
				t.Fatal(err)
			}
			eve := env.Client(t)
			eve.Register("eve@example.com", "correct horse battery")
			wantError(t, finish(eve, "auth.passkey.register.finish", id, cred, nil), http.StatusBadRequest, "invalid_challenge")
		})
	})
}

func TestPasskeyWrongOrigin(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone := env.authenticator()
		signUp(t, env.Client(t), phone, "ada@example.com")

		phone.SetOrigin("http://evil.localhost:1")
		wantError(t, signIn(t, env.Client(t), phone, "ada@example.com"), http.StatusUnauthorized, "invalid_credentials")
		wantError(t, signIn(t, env.Client(t), phone, ""), http.StatusUnauthorized, "invalid_credentials")

		evil := env.authenticator()
		evil.SetOrigin("https://phish.example")
		c := env.Client(t)
		id, opts := begin(t, c, "auth.passkey.register.begin", map[string]any{"email": "bob@example.com"})
		cred, err := evil.Create(opts)
		if err != nil {
			t.Fatal(err)
		}
		r := finish(c, "auth.passkey.register.finish", id, cred, nil)
		wantError(t, r, http.StatusBadRequest, "invalid_request")
		if r.Code() == "invalid_request" && r.JSON["error"].(map[string]any)["field"] != "credential" {
			t.Errorf("error does not name the credential: %s", r.Body)
		}
		if _, err := env.Store.UserByEmail(t.Context(), "bob@example.com"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("a refused sign-up created the user: %v", err)
		}
	})
}

func TestPasskeyCounterGoingBackwardsIsRefused(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone := env.authenticator()
		userID := signUp(t, env.Client(t), phone, "ada@example.com").Obj("user")["id"].(string)
		credID := phone.Credentials()[0].ID
		stored := func() uint32 {
			ps, err := env.Store.PasskeysOfUser(t.Context(), userID)
			if err != nil || len(ps) != 1 {
				t.Fatalf("passkeys: %v %v", ps, err)
			}
			return ps[0].SignCount
		}

		phone.SetCounter(credID, 5)
		if r := signIn(t, env.Client(t), phone, ""); r.Status != http.StatusOK {
			t.Fatalf("counter 5: %d %s", r.Status, r.Body)
		}
		if got := stored(); got != 5 {
			t.Fatalf("stored sign count = %d, want 5", got)
		}

		phone.SetCounter(credID, 3) // a clone that lagged behind
		c := env.Client(t)
		wantError(t, signIn(t, c, phone, "ada@example.com"), http.StatusUnauthorized, "invalid_credentials")
		if c.Get("auth.me").Status != http.StatusUnauthorized {
			t.Error("a refused sign-in left a session")
		}
		if got := stored(); got != 5 {
			t.Errorf("stored sign count = %d after a refused sign-in, want 5", got)
		}
		if acts := auditActions(t, env.Env, userID); !slices.Contains(acts, "passkey.counter_regressed") {
			t.Errorf("audit = %v, want passkey.counter_regressed", acts)
		}
		if ev := env.Events.find("login_failed"); len(ev) == 0 || ev[len(ev)-1].Props["reason"] != "counter_went_backwards" {
			t.Errorf("login_failed events = %+v", ev)
		}

		phone.SetCounter(credID, 6)
		if r := signIn(t, env.Client(t), phone, ""); r.Status != http.StatusOK {
			t.Fatalf("counter 6: %d %s", r.Status, r.Body)
		}
		if got := stored(); got != 6 {
			t.Errorf("stored sign count = %d, want 6", got)
		}
	})
}

func TestPasskeyBackupFlagsStored(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		synced := env.authenticator()
		synced.SetBackup(true, true)
		userID := signUp(t, env.Client(t), synced, "ada@example.com").Obj("user")["id"].(string)
		ps, err := env.Store.PasskeysOfUser(t.Context(), userID)
		if err != nil || len(ps) != 1 {
			t.Fatalf("passkeys: %v %v", ps, err)
		}
		p := ps[0]
		if !p.BackupEligible || !p.BackupState || len(p.PublicKey) == 0 || len(p.AAGUID) != 16 || !slices.Equal(p.Transports, []string{"internal"}) {
			t.Errorf("stored passkey = %+v", p)
		}
	})
}

func TestPasskeyBadRequests(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		c := env.Client(t)
		wantError(t, c.Call("auth.passkey.register.begin", map[string]any{}), http.StatusBadRequest, "invalid_request")
		wantError(t, c.Call("auth.passkey.register.begin", map[string]any{"email": "not an email"}), http.StatusBadRequest, "invalid_request")
		wantError(t, c.Call("auth.passkey.login.begin", map[string]any{"email": "not an email"}), http.StatusBadRequest, "invalid_request")
		wantError(t, c.Call("auth.passkey.login.begin", map[string]any{"email": "a@example.com", "extra": 1}), http.StatusBadRequest, "invalid_request")
		id, _ := begin(t, c, "auth.passkey.login.begin", map[string]any{})
		wantError(t, c.Call("auth.passkey.login.finish", map[string]any{"challenge_id": id}), http.StatusBadRequest, "invalid_request")
		wantError(t, c.Call("auth.passkey.login.finish", map[string]any{"challenge_id": id, "credential": "x"}), http.StatusBadRequest, "invalid_request")
		wantError(t, c.Call("auth.passkey.list", nil), http.StatusUnauthorized, "unauthenticated")
		wantError(t, c.Call("auth.passkey.delete", map[string]any{"id": "cred_x"}), http.StatusUnauthorized, "unauthenticated")
		if p := c.Get("auth.providers"); p.Obj("passkey")["enabled"] != true {
			t.Errorf("auth.providers: %s", p.Body)
		}
	})
}

func TestPasskeysOffWithoutRelyingParty(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	wantError(t, c.Call("auth.passkey.login.begin", map[string]any{}), http.StatusNotFound, "not_found")
	if p := c.Get("auth.providers"); p.Obj("passkey")["enabled"] != false {
		t.Errorf("auth.providers: %s", p.Body)
	}
}

func TestAccountDeleteRemovesPasskeys(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := newPasskeyEnv(t, db)
		phone := env.authenticator()
		c := env.Client(t)
		signUp(t, c, phone, "ada@example.com")
		// Signed in moments ago with the passkey: no password to ask for.
		if r := c.Call("auth.account.delete", map[string]any{}); r.Status != http.StatusOK {
			t.Fatalf("account.delete: %d %s", r.Status, r.Body)
		}
		if _, err := env.Store.PasskeyByCredentialID(t.Context(), phone.Credentials()[0].ID); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("passkey after account deletion: %v", err)
		}
		wantError(t, signIn(t, env.Client(t), phone, ""), http.StatusUnauthorized, "invalid_credentials")
	})
}
