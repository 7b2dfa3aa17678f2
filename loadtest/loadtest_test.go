package loadtest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/loadtest"
	"github.com/latchkey/latchkey/password"
	"github.com/latchkey/latchkey/sqlstore"
)

// cheap is the tests' argon2id: the bench and the server must agree on it.
var cheap = latchkeytest.CheapPassword.Params

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(loadtest.Command) bool
		err  string
	}{
		{name: "defaults", args: nil, want: func(c loadtest.Command) bool {
			return c.Config.Connections == 64 && c.Config.Duration == 10*time.Second && c.Config.Target == "" &&
				c.Config.Password == password.DefaultParams && len(c.Scenarios) == len(loadtest.Scenarios)
		}},
		{name: "flags", args: []string{"--target", "http://127.0.0.1:8080", "--connections", "8", "--duration", "3s", "--scenarios", "ceiling, me-bearer", "--seed-users", "1000000", "--server-pid", "42", "--json", "out.json", "--argon2-memory", "64", "--argon2-time", "1"},
			want: func(c loadtest.Command) bool {
				return c.Config.Target == "http://127.0.0.1:8080" && c.Config.Connections == 8 && c.Config.Duration == 3*time.Second &&
					strings.Join(c.Scenarios, ",") == "ceiling,me-bearer" && c.Config.SeedUsers == 1_000_000 && c.Config.ServerPID == 42 &&
					c.JSONPath == "out.json" && c.Config.Password == password.Params{Memory: 64, Time: 1, Threads: 1}
			}},
		{name: "localhost target", args: []string{"--target", "http://localhost:9"}, want: func(c loadtest.Command) bool { return c.Config.Target == "http://localhost:9" }},
		{name: "remote target", args: []string{"--target", "http://example.com"}, err: "not on loopback"},
		{name: "private address", args: []string{"--target", "http://10.0.0.1:8080"}, err: "not on loopback"},
		{name: "https target", args: []string{"--target", "https://127.0.0.1"}, err: "http://"},
		{name: "no connections", args: []string{"--connections", "0"}, err: "connections"},
		{name: "too many connections", args: []string{"--connections", "5000"}, err: "connections"},
		{name: "endless", args: []string{"--duration", "2h"}, err: "duration"},
		{name: "no duration", args: []string{"--duration", "0s"}, err: "duration"},
		{name: "unknown scenario", args: []string{"--scenarios", "ceiling,nap"}, err: `unknown scenario "nap"`},
		{name: "no scenario", args: []string{"--scenarios", ","}, err: "no scenario"},
		{name: "no users", args: []string{"--seed-users", "0"}, err: "seed users"},
		{name: "bad database", args: []string{"--database-url", "mysql://x"}, err: "database URL"},
		{name: "bad argon2", args: []string{"--argon2-time", "0"}, err: "argon2"},
		{name: "stray argument", args: []string{"now"}, err: "unexpected argument"},
		{name: "bad flag", args: []string{"--nope"}, err: "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadtest.ParseArgs(tt.args, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Fatalf("parsed %+v", c)
			}
		})
	}
}

// config is a short in-process run on db with cheap hashing.
func config(db latchkeytest.Database, users int) loadtest.Config {
	c := loadtest.DefaultConfig()
	c.DatabaseURL = db.URL
	c.Connections = 4
	c.Duration = 300 * time.Millisecond
	c.SeedUsers = users
	c.Password = cheap
	return c
}

func open(t *testing.T, c loadtest.Config) *loadtest.Bench {
	t.Helper()
	b, err := loadtest.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func countUsers(t *testing.T, db *sqlstore.DB) int {
	t.Helper()
	n, err := db.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSeed(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		ctx := context.Background()
		b := open(t, config(db, 2500)) // more than one transaction of accounts
		if n := countUsers(t, b.DB); n != 2500 {
			t.Fatalf("users = %d, want 2500", n)
		}
		st := b.DB.Store()
		u, err := st.UserByEmail(ctx, loadtest.SeedEmail(2499))
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := (password.Hasher{Params: cheap}).Verify(u.PasswordHash, loadtest.SeedPassword); !ok || err != nil {
			t.Fatalf("seeded hash does not verify the seed password: %v", err)
		}
		ms, err := st.MembershipsOfUser(ctx, u.ID)
		if err != nil || len(ms) != 1 || ms[0].Role != "owner" {
			t.Fatalf("memberships = %+v, %v; want one owner membership", ms, err)
		}
		b.Close()
		// A second bench on the same database finds the users there.
		b2 := open(t, config(db, 2500))
		if n := countUsers(t, b2.DB); n != 2500 {
			t.Fatalf("users after reopening = %d, want 2500", n)
		}
	})
}

func TestRunCountsRequests(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		ctx := context.Background()
		b := open(t, config(db, 20))
		for _, name := range loadtest.Scenarios {
			before := countUsers(t, b.DB)
			r, err := b.Run(ctx, name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if r.Unavailable != "" || r.Requests == 0 || r.Errors != 0 || r.Err() != nil {
				t.Fatalf("%s: %+v", name, r)
			}
			if r.P50 <= 0 || r.P50 > r.P90 || r.P90 > r.P99 || r.RPS <= 0 || r.PeakRSS <= 0 {
				t.Fatalf("%s: inconsistent figures %+v", name, r)
			}
			if name == loadtest.Register {
				if got := countUsers(t, b.DB) - before; int64(got) != r.Requests {
					t.Fatalf("register counted %d requests but created %d users", r.Requests, got)
				}
			}
		}
	})
}

func TestRunReport(t *testing.T) {
	c := config(latchkeytest.SQLite(t), 10)
	rep, err := loadtest.Run(context.Background(), c, []string{loadtest.Ceiling, loadtest.MeBearer})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Database != "sqlite" || len(rep.Ratios) < 2 || rep.Ratios[0].Met == nil || rep.Results[1].CPUPerRequest() <= 0 {
		t.Fatalf("report %+v", rep)
	}
	var sb strings.Builder
	rep.WriteText(&sb)
	for _, want := range []string{"ceiling", "me-bearer", "me-bearer / ceiling req/s", "target >= 0.60"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, sb.String())
		}
	}
}

// logout revokes a session through the API.
func logout(t *testing.T, base, access string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/auth.logout", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
}

func TestRevokedSessionsFailLoudly(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		ctx := context.Background()
		b := open(t, config(db, 10))
		for _, name := range []string{loadtest.MeBearer, loadtest.Refresh} {
			p, err := b.Prepare(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Sessions {
				logout(t, b.URL, s.AccessToken)
			}
			r := p.Run(ctx)
			if r.Errors == 0 || r.Requests != 0 || r.Err() == nil || !strings.Contains(r.FirstError, "401") {
				t.Fatalf("%s against revoked sessions: %+v", name, r)
			}
		}
	})
}

func TestExternalTargetFailsOnUnexpectedStatus(t *testing.T) {
	// A real server started by the test harness: the bench seeds it
	// through auth.register and signs in; rate limits on make the login
	// scenario meet 429s, which must fail the run.
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := config(latchkeytest.Database{}, 5)
	c.DatabaseURL, c.Target = "", env.URL
	rep, err := loadtest.Run(context.Background(), c, []string{loadtest.Ceiling, loadtest.MeBearer})
	if err != nil {
		t.Fatalf("healthy run failed: %v", err)
	}
	if rep.Results[1].Requests == 0 || rep.Results[0].PeakRSS != 0 {
		t.Fatalf("results %+v (an external server without --server-pid has no RSS)", rep.Results)
	}
	limited := latchkeytest.New(t, latchkeytest.Options{Configure: func(cfg *latchkey.Config) { cfg.RateLimits = true }})
	c.Target = limited.URL
	c.Duration = time.Second
	_, err = loadtest.Run(context.Background(), c, []string{loadtest.Login})
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("err = %v, want a failure naming status 429", err)
	}
}

// TestExternalServerPID: with --server-pid, HTTP scenarios measure that
// process, and hash (which runs in the bench) measures the bench. The
// "server" here is an idle sleep, so only hash can show CPU time.
func TestExternalServerPID(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	idle := exec.Command("sleep", "60")
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idle.Process.Kill(); idle.Wait() })
	c := config(latchkeytest.Database{}, 5)
	c.DatabaseURL, c.Target, c.ServerPID = "", env.URL, idle.Process.Pid
	rep, err := loadtest.Run(context.Background(), c, []string{loadtest.Ceiling, loadtest.Hash})
	if err != nil {
		t.Fatal(err)
	}
	ceiling, hash := rep.Results[0], rep.Results[1]
	if ceiling.Requests == 0 || ceiling.CPU != 0 || ceiling.PeakRSS == 0 {
		t.Errorf("ceiling = %+v, want requests, no CPU from the idle server, and its RSS", ceiling)
	}
	if hash.Requests == 0 || hash.CPU <= 0 || hash.PeakRSS <= ceiling.PeakRSS {
		t.Errorf("hash = %+v, want the bench's own CPU and RSS (above the idle server's %d bytes)", hash, ceiling.PeakRSS)
	}
}

func TestAPIKeyScenarioUnavailableWithoutAPIKeys(t *testing.T) {
	// A server that does not know org.api_keys.create (a proxy to a real
	// one that hides the operation) makes me-apikey unavailable: reported,
	// not an error, and not run.
	env := latchkeytest.New(t, latchkeytest.Options{})
	target, _ := url.Parse(env.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	hide := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/org.api_keys.create" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"There is no operation."}}`)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: hide}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	c := config(latchkeytest.Database{}, 5)
	c.DatabaseURL, c.Target = "", "http://"+ln.Addr().String()
	rep, err := loadtest.Run(context.Background(), c, []string{loadtest.Ceiling, loadtest.MeAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[1]
	if r.Unavailable == "" || !strings.Contains(r.Unavailable, "org.api_keys.create") || r.Requests != 0 || r.Err() != nil {
		t.Fatalf("me-apikey against a server without API keys: %+v", r)
	}
	var sb strings.Builder
	rep.WriteText(&sb)
	if !strings.Contains(sb.String(), "me-apikey unavailable") {
		t.Fatalf("the text report does not say me-apikey was unavailable:\n%s", sb.String())
	}
}
