package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/latchkeytest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real latchkey command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "latchkey-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "latchkey")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cli runs latchkey commands against one server with one config dir.
type cli struct {
	t         *testing.T
	server    string
	configDir string
}

func newCLI(t *testing.T, server string) *cli {
	return &cli{t: t, server: server, configDir: t.TempDir()}
}

func (c *cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary(c.t), args...)
	cmd.Env = append(os.Environ(), "LATCHKEY_SERVER="+c.server, "LATCHKEY_CONFIG_DIR="+c.configDir, "LATCHKEY_NO_BROWSER=1")
	return cmd
}

// run runs a command to its end and returns its stdout, stderr and error.
func (c *cli) run(args ...string) (string, string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := c.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// login is a running `latchkey login` and the authorize URL it printed.
type login struct {
	cmd       *exec.Cmd
	authorize *url.URL
	stdout    *bytes.Buffer
	stderr    *bytes.Buffer
	done      chan error
}

// startLogin starts `latchkey login` and waits for the URL it prints.
func (c *cli) startLogin(args ...string) *login {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c.t.Cleanup(cancel)
	cmd := c.command(ctx, append([]string{"login", "--no-browser"}, args...)...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	l := &login{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = l.stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			l.stdout.WriteString(line + "\n")
			if s := strings.TrimSpace(line); strings.Contains(s, "/cli/authorize?") {
				select {
				case found <- s:
				default:
				}
			}
		}
		l.done <- cmd.Wait()
	}()
	select {
	case raw := <-found:
		u, err := url.Parse(raw)
		if err != nil {
			c.t.Fatalf("printed URL %q: %v", raw, err)
		}
		l.authorize = u
	case err := <-l.done:
		c.t.Fatalf("latchkey login ended before printing a URL: %v\n%s%s", err, l.stdout, l.stderr)
	case <-ctx.Done():
		c.t.Fatal("latchkey login printed no URL")
	}
	return l
}

// wait waits for the login process to end.
func (l *login) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-l.done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("latchkey login did not end")
		return nil
	}
}

// approve plays the signed-in browser: it opens the page, approves
// through auth.cli.authorize (with the page's Origin) and follows the
// redirect to the CLI's loopback listener. It returns the redirect URL.
func approve(t *testing.T, env *latchkeytest.Env, browser *latchkeytest.Client, l *login) *url.URL {
	t.Helper()
	page := browser.Do(http.MethodGet, l.authorize.RequestURI(), nil, nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `id="cli-approve"`) {
		t.Fatalf("authorize page: %d %s", page.Status, page.Body)
	}
	q := l.authorize.Query()
	r := browser.Do(http.MethodPost, "/v1/auth.cli.authorize", map[string]any{
		"callback_url": q.Get("callback_url"), "state": q.Get("state"),
		"scopes": strings.Fields(q.Get("scopes")), "key_name": q.Get("key_name"),
	}, http.Header{"Origin": {env.URL}})
	if r.Status != http.StatusOK {
		t.Fatalf("auth.cli.authorize: %d %s", r.Status, r.Body)
	}
	redirect, err := url.Parse(r.Str("redirect_url"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(redirect.String())
	if err != nil {
		t.Fatalf("following redirect_url to the CLI: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the CLI answered the redirect with %d", res.StatusCode)
	}
	return redirect
}

func TestLoginWhoamiDashboardLogout(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		browser := env.Client(t)
		reg := browser.Register("ada@example.com", "correct horse battery")
		ownerID := reg.Obj("user")["id"]
		c := newCLI(t, env.URL)

		l := c.startLogin()
		q := l.authorize.Query()
		if l.authorize.Path != "/cli/authorize" || q.Get("state") == "" || q.Get("scopes") != "api:read api:write" {
			t.Fatalf("authorize URL %s", l.authorize)
		}
		// Another local page cannot plant a key: a wrong state is refused
		// and the CLI keeps waiting for the real answer.
		forged := q.Get("callback_url") + "?state=forged&key=sk_live_forged&org_id=org_x"
		if res, err := http.Get(forged); err != nil || res.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged callback: %v %v", res, err)
		}
		redirect := approve(t, env, browser, l)
		if err := l.wait(t); err != nil {
			t.Fatalf("latchkey login: %v\n%s%s", err, l.stdout, l.stderr)
		}
		key, orgID := redirect.Query().Get("key"), redirect.Query().Get("org_id")
		if !strings.Contains(l.stdout.String(), "Logged in") || !strings.Contains(l.stdout.String(), orgID) {
			t.Fatalf("login output:\n%s", l.stdout)
		}

		path := filepath.Join(c.configDir, "credentials.json")
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("credentials file: %v %v", info, err)
		}
		var stored struct {
			Server   string `json:"server"`
			APIKey   string `json:"api_key"`
			APIKeyID string `json:"api_key_id"`
			OrgID    string `json:"org_id"`
		}
		raw, _ := os.ReadFile(path)
		if err := json.Unmarshal(raw, &stored); err != nil || stored.APIKey != key || stored.OrgID != orgID || stored.Server != env.URL {
			t.Fatalf("stored credentials %s", raw)
		}

		out, errOut, err := c.run("whoami")
		if err != nil || !strings.Contains(out, orgID) || !strings.Contains(out, stored.APIKeyID) || !strings.Contains(out, "api:read api:write") {
			t.Fatalf("whoami: %v\n%s%s", err, out, errOut)
		}
		out, _, err = c.run("whoami", "--json")
		var me client.Me
		if err != nil || json.Unmarshal([]byte(out), &me) != nil || me.Credential != "api_key" || me.User != nil || me.Org.ID != orgID {
			t.Fatalf("whoami --json: %v\n%s", err, out)
		}

		// latchkey dashboard: a single-use link that signs a browser in.
		out, errOut, err = c.run("dashboard")
		link := regexp.MustCompile(`http://\S+/v1/auth\.dashboard_token\.exchange\?token=\S+`).FindString(out)
		if err != nil || link == "" {
			t.Fatalf("dashboard: %v\n%s%s", err, out, errOut)
		}
		second := env.Client(t)
		res := second.Do(http.MethodGet, strings.TrimPrefix(link, env.URL), nil, nil)
		if res.Status != http.StatusFound || res.Header.Get("Location") != env.URL+"/" || res.Cookie("latchkey_access") == nil {
			t.Fatalf("opening the dashboard link: %d %q", res.Status, res.Header.Get("Location"))
		}
		if me := second.Get("auth.me"); me.Obj("user")["id"] != ownerID {
			t.Fatalf("dashboard session: %s", me.Body)
		}
		if res := env.Client(t).Do(http.MethodGet, strings.TrimPrefix(link, env.URL), nil, nil); res.Header.Get("Location") != env.URL+"/login" {
			t.Fatalf("reused dashboard link went to %q", res.Header.Get("Location"))
		}

		out, errOut, err = c.run("logout")
		if err != nil || !strings.Contains(out, "Logged out") {
			t.Fatalf("logout: %v\n%s%s", err, out, errOut)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("credentials still there after logout: %v", err)
		}
		_, err = client.New(env.URL).WithToken(key).Me(context.Background())
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || apiErr.Code != "invalid_token" {
			t.Fatalf("the logged-out key: %v", err)
		}
		if _, errOut, err := c.run("whoami"); err == nil || !strings.Contains(errOut, "not logged in") {
			t.Fatalf("whoami after logout: %v %s", err, errOut)
		}
	})
}

func TestLoginDenied(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	browser := env.Client(t)
	browser.Register("ada@example.com", "correct horse battery")
	c := newCLI(t, env.URL)
	l := c.startLogin()
	page := browser.Do(http.MethodGet, l.authorize.RequestURI(), nil, nil)
	m := regexp.MustCompile(`id="cli-deny" href="([^"]+)"`).FindSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no Deny link on the page:\n%s", page.Body)
	}
	res, err := http.Get(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err := l.wait(t); err == nil || !strings.Contains(l.stderr.String(), "not approved") {
		t.Fatalf("denied login: %v\n%s%s", err, l.stdout, l.stderr)
	}
	if _, err := os.Stat(filepath.Join(c.configDir, "credentials.json")); !os.IsNotExist(err) {
		t.Fatalf("a denied login stored credentials: %v", err)
	}
}

func TestLoginTimesOut(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := newCLI(t, env.URL)
	l := c.startLogin("--timeout", "1s")
	if err := l.wait(t); err == nil || !strings.Contains(l.stderr.String(), "no answer from the browser") {
		t.Fatalf("login without a browser: %v\n%s", err, l.stderr)
	}
}

func TestLoginNeedsAReachableServer(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1")
	if out, errOut, err := c.run("login", "--no-browser"); err == nil || !strings.Contains(errOut, "cannot reach") || strings.Contains(out, "/cli/authorize") {
		t.Fatalf("login against no server: %v\n%s%s", err, out, errOut)
	}
}

func TestClientCommandsNeedALogin(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1")
	for _, cmd := range []string{"whoami", "dashboard"} {
		if _, errOut, err := c.run(cmd); err == nil || !strings.Contains(errOut, "not logged in") {
			t.Errorf("%s without a login: %v %s", cmd, err, errOut)
		}
	}
	if out, _, err := c.run("logout"); err != nil || !strings.Contains(out, "Not logged in") {
		t.Errorf("logout without a login: %v %s", err, out)
	}
}

// TestSecondLoginRevokesTheOldKey: a second `latchkey login` stores the
// new key, revokes the one it replaces and says so (as `gh auth login`).
func TestSecondLoginRevokesTheOldKey(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		browser := env.Client(t)
		browser.Register("twice@example.com", "correct horse battery")
		c := newCLI(t, env.URL)
		logIn := func() (string, *login) {
			l := c.startLogin()
			redirect := approve(t, env, browser, l)
			if err := l.wait(t); err != nil {
				t.Fatalf("latchkey login: %v\n%s%s", err, l.stdout, l.stderr)
			}
			return redirect.Query().Get("key"), l
		}
		first, l1 := logIn()
		if strings.Contains(l1.stdout.String(), "previous key") {
			t.Errorf("a first login mentions a previous key:\n%s", l1.stdout)
		}
		second, l2 := logIn()
		if !strings.Contains(l2.stdout.String(), "Revoked the previous key key_") {
			t.Errorf("second login output:\n%s%s", l2.stdout, l2.stderr)
		}
		_, err := client.New(env.URL).WithToken(first).Me(context.Background())
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Code != "invalid_token" {
			t.Errorf("the replaced key: %v, want invalid_token", err)
		}
		if _, err := client.New(env.URL).WithToken(second).Me(context.Background()); err != nil {
			t.Errorf("the new key: %v", err)
		}
	})
}
