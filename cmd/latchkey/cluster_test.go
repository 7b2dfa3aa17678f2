package main_test

import (
	"bufio"
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestRevocationAcrossThreeNodes: three `latchkey serve` processes on one
// PostgreSQL database, each answering credentials from its revocation
// cache. A logout on node A, then at once a request on B and on C: 401,
// 1,000 times in a row; the same 1,000 times while C's listening
// connection is terminated by the database every 200 ms; and with C
// paused (SIGSTOP) across the logout, both with C's lease still live when
// the logout starts (the logout must wait until it has lapsed) and past
// it.
func TestRevocationAcrossThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	db := latchkeytest.Postgres(t)
	env := cleanEnv(append(cheap, "LATCHKEY_DATABASE_URL="+db.URL, "LATCHKEY_RATE_LIMITS=off", "LATCHKEY_LOG_LEVEL=error")...)
	var nodes [3]*node
	for i := range nodes {
		nodes[i] = startNode(t, t.TempDir(), env, "--addr", "127.0.0.1:0")
	}
	a, b, c := nodes[0].base, nodes[1].base, nodes[2].base
	sqldb, err := sql.Open("pgx", db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	waitUntil(t, "three live leases", func() bool {
		var n int
		sqldb.QueryRow(`SELECT count(*) FROM cache_leases WHERE expires_at > clock_timestamp() AND NOT fenced`).Scan(&n)
		return n == 3
	})

	const email = "cluster@example.com"
	want(t, "register", call(t, a, "auth.register", "", map[string]any{"email": email, "password": "correct horse battery"}), 200, "")
	me := func(base, token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/auth.me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("auth.me on %s: %v", base, err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// round signs in on A, has B and C answer the session twice (the
	// second from their caches), runs before (if any), logs out on A, runs
	// after (if any) and asks B and C at once.
	round := func(i int, before, after func()) {
		t.Helper()
		r := call(t, a, "auth.login", "", map[string]any{"email": email, "password": "correct horse battery"})
		want(t, "login", r, 200, "")
		tok := r.str("access_token")
		for _, base := range []string{b, c, b, c} {
			if s := me(base, tok); s != 200 {
				t.Fatalf("round %d: auth.me on %s before logout = %d", i, base, s)
			}
		}
		if before != nil {
			before()
		}
		want(t, "logout", call(t, a, "auth.logout", tok, map[string]any{}), 200, "")
		if after != nil {
			after()
		}
		for _, base := range []string{b, c} {
			if s := me(base, tok); s != 401 {
				t.Fatalf("round %d: auth.me on %s right after logout on A = %d, want 401", i, base, s)
			}
		}
	}

	hitsBefore := [2]float64{cacheHits(t, b), cacheHits(t, c)}
	began := time.Now()
	for i := range 1000 {
		round(i, nil, nil)
	}
	t.Logf("1,000 rounds in %v", time.Since(began))
	for i, base := range []string{b, c} {
		if got := cacheHits(t, base) - hitsBefore[i]; got < 1000 {
			t.Fatalf("node %s answered %v lookups from its cache over 1,000 rounds: the rounds did not test the cache", base, got)
		}
	}

	// C's listener is terminated every 200 ms while 1,000 more rounds run.
	cpid := nodes[2].cmd.Process.Pid
	stop := make(chan struct{})
	var kills atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			var n int
			sqldb.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE $1`,
				fmt.Sprintf("latchkey-cache %% pid %d", cpid)).Scan(&n)
			kills.Add(int64(n))
		}
	}()
	began = time.Now()
	for i := range 1000 {
		round(i, nil, nil)
	}
	close(stop)
	<-done
	t.Logf("1,000 rounds in %v while C's listener was terminated %d times", time.Since(began), kills.Load())
	if kills.Load() < 10 {
		t.Fatalf("only %d of C's listening connections were terminated", kills.Load())
	}
	waitUntil(t, "C's lease back", func() bool { return liveLease(t, sqldb, cpid) })

	// C paused with its lease live: the logout on A may return only once
	// that lease has ended; C, resumed, refuses the session.
	leaseOfC := func() (node string) {
		sqldb.QueryRow(`SELECT l.node_id FROM cache_leases l JOIN pg_stat_activity a ON a.application_name = 'latchkey-cache ' || l.node_id || ' pid ' || $1`,
			strconv.Itoa(cpid)).Scan(&node)
		return node
	}
	for i := range 3 {
		cnode := leaseOfC()
		if cnode == "" {
			t.Fatal("no lease row for node C")
		}
		var paused time.Time
		round(i, func() {
			if err := nodes[2].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			paused = time.Now()
		}, func() {
			var ended bool
			err := sqldb.QueryRow(`SELECT expires_at <= clock_timestamp() FROM cache_leases WHERE node_id = $1`, cnode).Scan(&ended)
			nodes[2].cmd.Process.Signal(syscall.SIGCONT)
			if err != nil && err != sql.ErrNoRows {
				t.Fatal(err)
			}
			if !ended {
				t.Fatalf("pause %d: logout returned %v after the pause while the paused node's lease was still live", i, time.Since(paused))
			}
			t.Logf("pause %d: logout returned %v after the pause, once C's lease had ended", i, time.Since(paused))
		})
		waitUntil(t, "C's lease back", func() bool { return liveLease(t, sqldb, cpid) })
	}
	// C paused past its lease before the logout.
	for i := range 3 {
		round(i, func() {
			nodes[2].cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(2500 * time.Millisecond)
		}, func() { nodes[2].cmd.Process.Signal(syscall.SIGCONT) })
		waitUntil(t, "C's lease back", func() bool { return liveLease(t, sqldb, cpid) })
	}
}

// liveLease reports whether the node with process id pid holds a live,
// unfenced lease over a connected listener.
func liveLease(t *testing.T, db *sql.DB, pid int) bool {
	var n int
	db.QueryRow(`SELECT count(*) FROM cache_leases l JOIN pg_stat_activity a ON a.application_name = 'latchkey-cache ' || l.node_id || ' pid ' || $1
		WHERE l.expires_at > clock_timestamp() AND NOT l.fenced`, strconv.Itoa(pid)).Scan(&n)
	return n == 1
}

// cacheHits reads latchkey_auth_cache_lookups_total{result="hit"} from a
// node's /metrics.
func cacheHits(t *testing.T, base string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `latchkey_auth_cache_lookups_total{result="hit"} `); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s/metrics has no latchkey_auth_cache_lookups_total{result=\"hit\"}", base)
	return 0
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 15 s", what)
		}
	}
}
