package authcache_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/authcache"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
)

// fast keeps lease expiries short so that the tests that wait one out
// stay quick; the protocol is the same at any scale.
var fast = authcache.Options{Lease: 600 * time.Millisecond, Renew: 150 * time.Millisecond, AckWait: 100 * time.Millisecond}

// cluster starts nodes on one fresh, migrated PostgreSQL database, each
// with its own pool as separate processes would have; opts[i] (if given)
// are node i's options over fast.
func cluster(t testing.TB, n int, opts ...authcache.Options) (*sql.DB, []*authcache.Node) {
	t.Helper()
	db := latchkeytest.Postgres(t)
	st, err := sqlstore.Open(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	pool := func() *sql.DB {
		p, err := sql.Open("pgx", db.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	nodes := make([]*authcache.Node, n)
	for i := range n {
		o := fast
		if i < len(opts) {
			o.BeforeHandle = opts[i].BeforeHandle
		}
		node, err := authcache.Start(db.URL, pool(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		nodes[i] = node
	}
	for _, node := range nodes {
		waitFor(t, "a first lease", node.Cache.Live)
	}
	return pool(), nodes
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
	}
}

// fill stores key (tagged tag) in each node's cache.
func fill(t *testing.T, key, tag string, nodes ...*authcache.Node) {
	t.Helper()
	for _, n := range nodes {
		n.Cache.Put(n.Cache.Gen(), key, "cached", tag)
		if _, ok := n.Cache.Get(key); !ok {
			t.Fatalf("node %s did not store %s", n.ID, key)
		}
	}
}

// change announces tag as the triggers do when a row changes.
func change(t *testing.T, db *sql.DB, tag string) {
	t.Helper()
	if _, err := db.Exec(`SELECT pg_notify('latchkey_cache', $1)`, tag); err != nil {
		t.Fatal(err)
	}
}

func held(key string, nodes ...*authcache.Node) []string {
	var out []string
	for _, n := range nodes {
		if _, ok := n.Cache.Get(key); ok {
			out = append(out, n.ID)
		}
	}
	return out
}

// TestSyncWaitsForEveryNode: with node C slow to act on notifications,
// a barrier raised on A returns only after C has dropped the changed
// entry — 50 times in a row.
func TestSyncWaitsForEveryNode(t *testing.T) {
	slow := authcache.Options{BeforeHandle: func(string) { time.Sleep(20 * time.Millisecond) }}
	db, nodes := cluster(t, 3, authcache.Options{}, authcache.Options{}, slow)
	for i := range 50 {
		key, tag := fmt.Sprintf("s:%d", i), fmt.Sprintf("u:%d", i)
		fill(t, key, tag, nodes...)
		change(t, db, tag)
		began := time.Now()
		if err := nodes[0].Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if h := held(key, nodes...); len(h) > 0 {
			t.Fatalf("round %d: Sync returned while nodes %v still held %s", i, h, key)
		}
		if d := time.Since(began); d < 20*time.Millisecond {
			t.Fatalf("round %d: Sync returned in %v, before the slow node could have acknowledged", i, d)
		}
	}
}

// TestSyncWaitsOutAStuckNode: a node whose listener is stuck cannot
// acknowledge; the barrier fences it, disconnects its listener and returns
// only once its lease has ended, so it no longer answers. When it comes
// back, its lease is gone and it starts over on a new connection with an
// empty cache: it never answers the old entry.
func TestSyncWaitsOutAStuckNode(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	stuck := authcache.Options{BeforeHandle: func(p string) {
		if p == "x:stall" {
			<-release
		}
	}}
	db, nodes := cluster(t, 3, authcache.Options{}, authcache.Options{}, stuck)
	c := nodes[2]
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	fill(t, "s:stuck", "u:stuck", nodes...)
	pid := c.ListenerPID()
	change(t, db, "x:stall")
	time.Sleep(20 * time.Millisecond) // C's listener is now stuck in the hook
	change(t, db, "u:stuck")
	began := time.Now()
	if err := nodes[0].Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if h := held("s:stuck", nodes...); len(h) > 0 {
		t.Fatalf("Sync returned after %v while nodes %v still answered the changed entry", took, h)
	}
	if took < fast.AckWait {
		t.Fatalf("Sync returned in %v, before it could have fenced the stuck node", took)
	}
	if took > fast.AckWait+fast.Lease+500*time.Millisecond {
		t.Fatalf("Sync took %v, more than the ack wait and one lease", took)
	}
	once.Do(func() { close(release) })
	waitFor(t, "new lease for the stuck node", c.Cache.Live)
	if _, ok := c.Cache.Get("s:stuck"); ok {
		t.Fatal("the stuck node came back answering the changed entry")
	}
	// Fencing disconnected its listener, which held back the database's
	// notification queue.
	if c.ListenerPID() == pid {
		t.Fatalf("the fenced node kept its listening connection (backend %d)", pid)
	}
}

// TestSyncAcrossAKilledListener: node C's listening connection is
// terminated by the database (pg_terminate_backend) just before each
// change; C stops answering, reconnects with a new lease and an empty
// cache, and no barrier returns while C still answers the changed entry.
func TestSyncAcrossAKilledListener(t *testing.T) {
	db, nodes := cluster(t, 3)
	c := nodes[2]
	for i := range 5 {
		waitFor(t, "listener for node C", func() bool { return c.ListenerPID() != 0 && c.Cache.Live() })
		key, tag := fmt.Sprintf("s:%d", i), fmt.Sprintf("u:%d", i)
		fill(t, key, tag, nodes...)
		pid := c.ListenerPID()
		var killed bool
		if err := db.QueryRow(`SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
			t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
		}
		change(t, db, tag)
		if err := nodes[0].Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if h := held(key, nodes...); len(h) > 0 {
			t.Fatalf("round %d: Sync returned while nodes %v still held %s", i, h, key)
		}
		waitFor(t, "new listener", func() bool { return c.ListenerPID() != 0 && c.ListenerPID() != pid })
	}
	var name string
	if err := db.QueryRow(`SELECT application_name FROM pg_stat_activity WHERE pid = $1`, c.ListenerPID()).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "latchkey-cache "+c.ID+" pid ") {
		t.Fatalf("the listener's application_name is %q", name)
	}
}

// TestClosedNodeIsNotWaitedFor: a node that shut down gave up its lease,
// so a barrier does not wait for it.
func TestClosedNodeIsNotWaitedFor(t *testing.T) {
	_, nodes := cluster(t, 2)
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := nodes[0].Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d >= fast.AckWait {
		t.Fatalf("Sync took %v: it waited for a node that had shut down", d)
	}
}

// BenchmarkSync is the barrier a write to a cached row waits on, with
// every node live and acknowledging: one node (the writer's own) and
// three. docs/benchmarks.md has the figures.
func BenchmarkSync(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			_, nodes := cluster(b, n)
			for b.Loop() {
				if err := nodes[0].Sync(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
