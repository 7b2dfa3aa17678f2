package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestServerSecretFile: with SQLite and no LATCHKEY_SECRET_KEY, serve
// creates latchkey-data/secret.key (mode 0600, 32 bytes) beside the
// database and keeps using it: a second start opens the sealed signing
// key and the first start's tokens still work.
func TestServerSecretFile(t *testing.T) {
	dir := t.TempDir()
	env := cleanEnv("LATCHKEY_ARGON2_MEMORY=64", "LATCHKEY_ARGON2_TIME=1", "LATCHKEY_PUBLIC_URL=http://localhost:8080")
	base := serve(t, dir, env, "--addr", "127.0.0.1:0")
	path := filepath.Join(dir, "latchkey-data", "secret.key")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no secret key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil || len(key) != 32 {
		t.Errorf("secret.key holds %q", b)
	}
	reg := call(t, base, "auth.register", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	want(t, "register", reg, 200, "")
	again := serve(t, dir, env, "--addr", "127.0.0.1:0")
	want(t, "first start's token on the second process", call(t, again, "auth.me", reg.str("access_token"), map[string]any{}), 200, "")
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Error("the second start replaced secret.key")
	}
}

// TestPostgresNeedsSecretKey: PostgreSQL without LATCHKEY_SECRET_KEY
// refuses to start, naming the variable.
func TestPostgresNeedsSecretKey(t *testing.T) {
	db := latchkeytest.Postgres(t)
	_, errOut, code := run(t, cleanEnv("LATCHKEY_DATABASE_URL="+db.URL), "serve", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "LATCHKEY_SECRET_KEY") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Errorf("exit %d, stderr %q: want one line naming LATCHKEY_SECRET_KEY", code, errOut)
	}
}

// TestKeysRotateCommand: `latchkey keys rotate` adds a key that the JWKS
// of a running server lists at once, and `keys list` says which signs.
func TestKeysRotateCommand(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := cleanEnv(append(cheap, "LATCHKEY_DATABASE_URL="+db.URL)...)
		base := serve(t, t.TempDir(), env, "--addr", "127.0.0.1:0")
		if n := len(getJWKS(t, base)); n != 1 {
			t.Fatalf("%d keys before the rotation", n)
		}
		out, errOut, code := run(t, env, "keys", "rotate", "--key-rotation-overlap", "5m")
		if code != 0 || !strings.Contains(out, "New signing key") {
			t.Fatalf("keys rotate: exit %d\n%s%s", code, out, errOut)
		}
		if n := len(getJWKS(t, base)); n != 2 {
			t.Errorf("%d keys in the JWKS right after the rotation, want 2", n)
		}
		out, errOut, code = run(t, env, "keys", "list")
		if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "signing") || !strings.Contains(out, "not signing yet") {
			t.Errorf("keys list: exit %d\n%s%s", code, out, errOut)
		}
		if _, _, code := run(t, env, "keys", "explode"); code == 0 {
			t.Error("keys explode succeeded")
		}
		if _, errOut, code := run(t, env, "keys", "rotate", "--key-rotation-overlap", "soon"); code == 0 || !strings.Contains(errOut, "LATCHKEY_KEY_ROTATION_OVERLAP") {
			t.Errorf("bad overlap: exit %d %q", code, errOut)
		}
	})
}

func getJWKS(t *testing.T, base string) []any {
	t.Helper()
	res, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct {
		Keys []any `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}
