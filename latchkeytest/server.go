package latchkeytest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/authcache"
	"github.com/latchkey/latchkey/password"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/sqlstore"
	"github.com/latchkey/latchkey/webhook"
)

// CheapPassword makes password hashing fast for tests; the benchmarks
// use the real parameters.
var CheapPassword = password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}}

// SecretKey is the server secret of test servers, the same for every
// node so that nodes on one database open each other's sealed rows (the
// binary refuses PostgreSQL without one, contract §10).
var SecretKey = []byte("latchkeytest-server-secret-32by!")

// Options tune a test server. The zero value is a server on a fresh
// SQLite database with rate limits off and cheap password hashing.
type Options struct {
	Database Database // zero: a fresh SQLite database
	// Configure edits the domain config before the service opens;
	// PublicURL, DashboardURL and Issuer are preset to the server's URL.
	Configure func(*latchkey.Config)
	// Service edits the service (Mailer, Analytics...) before it opens.
	Service func(*latchkey.Service)
	// Server edits the server config before the server is built.
	Server func(*server.Config)
	// Webhooks runs a webhook worker on the server's clock, polling every
	// 20 ms.
	Webhooks bool
	// AuthCache tunes the node of the revocation cache every server on
	// PostgreSQL runs (its Logger is the test logger).
	AuthCache authcache.Options
}

// Env is a running server and what tests need to reach inside it.
type Env struct {
	URL     string // base URL, e.g. http://127.0.0.1:41234
	Service *latchkey.Service
	Store   latchkey.Store
	DB      *sqlstore.DB
	Server  *server.Server
	Clock   *Clock
}

// New starts a real server on 127.0.0.1:0 and stops it when the test ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Database.URL == "" {
		opts.Database = SQLite(t)
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, opts.Database.URL)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	// On PostgreSQL every server is a node of the revocation cache, as
	// `latchkey serve` is, so the whole suite runs through it.
	opts.AuthCache.Logger = Logger()
	if err := db.StartAuthCache(opts.AuthCache); err != nil {
		t.Fatalf("start the auth cache: %v", err)
	}
	if n := db.AuthCache(); n != nil {
		WaitLive(t, n) // so that tests use the cache from the first request
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := latchkey.DefaultConfig()
	cfg.PublicURL, cfg.DashboardURL, cfg.Issuer = base, base, base
	cfg.RateLimits = false
	cfg.Password = CheapPassword
	cfg.SecretKey = SecretKey
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	clock := NewClock()
	logger := Logger()
	svc := &latchkey.Service{Store: db.Store(), Config: cfg, Logger: logger, Clock: clock.Now}
	if opts.Service != nil {
		opts.Service(svc)
	}
	if err := svc.Open(ctx); err != nil {
		t.Fatalf("open service: %v", err)
	}
	scfg := server.Config{Service: svc, Logger: logger, PublicURL: cfg.PublicURL, DashboardURL: cfg.DashboardURL}
	if n := db.AuthCache(); n != nil {
		scfg.Collectors = n.Collectors()
	}
	if opts.Webhooks {
		w := &webhook.Worker{Queue: svc.WebhookQueue(), Logger: logger, Clock: clock.Now, Poll: 20 * time.Millisecond}
		scfg.Collectors = append(scfg.Collectors, w.Collectors()...)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	if opts.Server != nil {
		opts.Server(&scfg)
	}
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	})
	return &Env{URL: base, Service: svc, Store: svc.Store, DB: db, Server: srv, Clock: clock}
}

// Logger discards logs unless LATCHKEY_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("LATCHKEY_TEST_LOG") != "" {
		return slog.New(server.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Clock is a settable clock for expiry tests: it follows real time plus
// whatever the test has advanced it by.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock at the real time.
func NewClock() *Clock { return &Clock{} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// WaitLive waits until a node of the revocation cache holds its first
// lease, and fails the test after 5 s.
func WaitLive(t testing.TB, n *authcache.Node) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !n.Cache.Live(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the auth cache took no lease within 5 s")
		}
	}
}
