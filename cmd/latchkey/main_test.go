package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
)

// cleanEnv is the test's environment without any LATCHKEY_ variable, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCHKEY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cheap keeps password hashing light for servers whose cost is not under test.
var cheap = []string{"LATCHKEY_ARGON2_MEMORY=64", "LATCHKEY_ARGON2_TIME=1", testSecretEnv}

// testSecretEnv gives processes the server secret of latchkeytest's
// in-process servers, so both open the same sealed rows (and PostgreSQL,
// which requires one, starts).
var testSecretEnv = "LATCHKEY_SECRET_KEY=" + base64.StdEncoding.EncodeToString(latchkeytest.SecretKey)

// serve starts `latchkey serve` in dir and returns its base URL once it
// prints where it listens; the process is stopped when the test ends.
func serve(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	return startNode(t, dir, env, args...).base
}

// node is one running `latchkey serve` process.
type node struct {
	cmd  *exec.Cmd
	base string
	done chan struct{} // closed when the process has exited
}

// startNode starts `latchkey serve` and waits until it listens. When the
// test ends a node still running is interrupted, and killed if it does not
// stop within 15 s.
func startNode(t *testing.T, dir string, env []string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Latchkey listening on http://"); ok {
				addr, _, _ := strings.Cut(rest, " ")
				found <- "http://" + addr
			}
		}
		io.Copy(io.Discard, out)
		close(found)
		cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-n.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-n.done
		}
	})
	select {
	case base, ok := <-found:
		if !ok {
			t.Fatalf("serve exited without listening; stderr:\n%s", stderr.String())
		}
		n.base = base
		return n
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start within 60 s; stderr:\n%s", stderr.String())
	}
	return nil
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (n *node) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

// syncBuffer is a bytes.Buffer the process's stderr copier and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type reply struct {
	status int
	body   map[string]any
}

// call POSTs a JSON body to base/v1/op with an optional bearer token.
func call(t *testing.T, base, op, token string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/"+op, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode}
	json.NewDecoder(res.Body).Decode(&r.body)
	return r
}

func (r reply) str(k string) string { s, _ := r.body[k].(string); return s }

func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func want(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("%s: %d %v, want %d %q", what, r.status, r.body, status, code)
	}
}

// TestServeWithoutConfiguration: in an empty folder, with no LATCHKEY_
// variable, serve creates ./latchkey-data/latchkey.db and works, with the
// default (real) password hashing.
func TestServeWithoutConfiguration(t *testing.T) {
	dir := t.TempDir()
	base := serve(t, dir, cleanEnv(), "--addr", "127.0.0.1:0")
	if _, err := os.Stat(filepath.Join(dir, "latchkey-data", "latchkey.db")); err != nil {
		t.Fatalf("no database in ./latchkey-data: %v", err)
	}
	reg := call(t, base, "auth.register", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	want(t, "register", reg, 200, "")
	login := call(t, base, "auth.login", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	want(t, "login", login, 200, "")
	me := call(t, base, "auth.me", login.str("access_token"), map[string]any{})
	want(t, "me", me, 200, "")
	if u, _ := me.body["user"].(map[string]any); u["email"] != "ada@example.com" {
		t.Errorf("me: %v", me.body)
	}
	want(t, "wrong password", call(t, base, "auth.login", "", map[string]any{"email": "ada@example.com", "password": "nope nope nope"}), 401, "invalid_credentials")
}

// TestRevocationAcrossProcesses: two server processes share one database;
// a logout on one is seen by the other on its very next request.
func TestRevocationAcrossProcesses(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := cleanEnv(append(cheap, "LATCHKEY_DATABASE_URL="+db.URL)...)
		// Both start at once on the fresh database: they race to migrate
		// and to create the first signing key, and must agree.
		var a, b string
		var wg sync.WaitGroup
		wg.Go(func() { a = serve(t, t.TempDir(), env, "--addr", "127.0.0.1:0") })
		wg.Go(func() { b = serve(t, t.TempDir(), env, "--addr", "127.0.0.1:0") })
		wg.Wait()
		if a == "" || b == "" {
			t.FailNow()
		}
		want(t, "register on A", call(t, a, "auth.register", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}), 200, "")
		login := call(t, a, "auth.login", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
		want(t, "login on A", login, 200, "")
		token := login.str("access_token")
		want(t, "me on B", call(t, b, "auth.me", token, nil), 200, "")
		// B's tokens work on A too: one set of signing keys.
		other := call(t, b, "auth.login", "", map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
		want(t, "login on B", other, 200, "")
		want(t, "B's token on A", call(t, a, "auth.me", other.str("access_token"), nil), 200, "")

		want(t, "logout on A", call(t, a, "auth.logout", token, map[string]any{}), 200, "")
		want(t, "me on B after logout on A", call(t, b, "auth.me", token, nil), 401, "invalid_token")
		want(t, "me on A after logout on A", call(t, a, "auth.me", token, nil), 401, "invalid_token")
		want(t, "the other session on B", call(t, b, "auth.me", other.str("access_token"), nil), 200, "")
	})
}

// run runs the binary to completion in an empty folder.
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir, cmd.Env = t.TempDir(), env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("%v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {}} {
		out, _, code := run(t, cleanEnv(), args...)
		if code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "migrate") {
			t.Errorf("latchkey %v: exit %d\n%s", args, code, out)
		}
	}
	_, errOut, code := run(t, cleanEnv(), "serve", "--help")
	for _, flag := range []string{"-database-url", "-addr", "-public-url", "-cors-origins", "-access-token-ttl", "-rate-limits", "LATCHKEY_REFRESH_REUSE_GRACE"} {
		if code != 0 || !strings.Contains(errOut, flag) {
			t.Errorf("serve --help: exit %d, lacks %s:\n%s", code, flag, errOut)
		}
	}
	if _, errOut, code := run(t, cleanEnv(), "frobnicate"); code == 0 || !strings.Contains(errOut, "frobnicate") {
		t.Errorf("unknown command: exit %d %s", code, errOut)
	}
}

// TestBadConfiguration: a bad value stops start-up with one line naming
// the variable, and a non-zero exit.
func TestBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		env  string
		args []string
		name string
	}{
		{"LATCHKEY_ACCESS_TOKEN_TTL=banana", nil, "LATCHKEY_ACCESS_TOKEN_TTL"},
		{"LATCHKEY_REFRESH_TOKEN_TTL=-5m", nil, "LATCHKEY_REFRESH_TOKEN_TTL"},
		{"LATCHKEY_REFRESH_REUSE_GRACE=10", nil, "LATCHKEY_REFRESH_REUSE_GRACE"},
		{"LATCHKEY_CODE_TTL=", []string{"--code-ttl", "soon"}, "LATCHKEY_CODE_TTL"},
		{"LATCHKEY_ACCESS_TOKEN_TTL=15m", []string{"--access-token-ttl=banana"}, "LATCHKEY_ACCESS_TOKEN_TTL"},
		{"LATCHKEY_RATE_LIMITS=maybe", nil, "LATCHKEY_RATE_LIMITS"},
		{"LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS=sometimes", nil, "LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS"},
		{"LATCHKEY_CORS_ORIGINS=https://ok.example.com,app.example.org", nil, "LATCHKEY_CORS_ORIGINS"},
		{"LATCHKEY_CORS_ORIGINS=https://app.example.org/path", nil, "LATCHKEY_CORS_ORIGINS"},
		{"LATCHKEY_PUBLIC_URL=ftp://example.com", nil, "LATCHKEY_PUBLIC_URL"},
		{"LATCHKEY_DASHBOARD_URL=not a url", nil, "LATCHKEY_DASHBOARD_URL"},
		{"LATCHKEY_DATABASE_URL=mysql://db/latchkey", nil, "LATCHKEY_DATABASE_URL"},
		{"LATCHKEY_ADDR=nowhere", nil, "LATCHKEY_ADDR"},
		{"LATCHKEY_ARGON2_MEMORY=0", nil, "LATCHKEY_ARGON2_MEMORY"},
		{"LATCHKEY_ARGON2_THREADS=1000", nil, "LATCHKEY_ARGON2_THREADS"},
		{"LATCHKEY_ARGON2_MEMORY=4", nil, "LATCHKEY_ARGON2_MEMORY"},
		{"LATCHKEY_LOG_LEVEL=loud", nil, "LATCHKEY_LOG_LEVEL"},
		{"LATCHKEY_SECRET_KEY=c2hvcnQ=", nil, "LATCHKEY_SECRET_KEY"},
		{"LATCHKEY_DNS_RESOLVER=8.8.8.8", nil, "LATCHKEY_DNS_RESOLVER"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)
		if tc.name == "LATCHKEY_ADDR" {
			args = []string{"serve"} // the flag would override the bad variable
		}
		out, errOut, code := run(t, cleanEnv(tc.env), args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.name) || strings.Contains(out, "listening") {
			t.Errorf("%s %v: exit %d, stderr %q, stdout %q; want one line naming %s", tc.env, tc.args, code, errOut, out, tc.name)
		}
	}
}

func TestMigrate(t *testing.T) {
	names, err := sqlstore.Migrations(sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	last := names[len(names)-1]
	dir := t.TempDir()
	for i := range 2 {
		cmd := exec.Command(binary(t), "migrate", "--database-url", "sqlite://./data/lk.db")
		cmd.Dir, cmd.Env = dir, cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "is at migration "+last) {
			t.Fatalf("migrate #%d: %v\n%s", i+1, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "lk.db")); err != nil {
		t.Fatal(err)
	}
	// The migrated database serves.
	base := serve(t, dir, cleanEnv(append(cheap, "LATCHKEY_DATABASE_URL=sqlite://./data/lk.db")...), "--addr", "127.0.0.1:0")
	want(t, "register", call(t, base, "auth.register", "", map[string]any{"email": "m@example.com", "password": "correct horse battery"}), 200, "")
}
