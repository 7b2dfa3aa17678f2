package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/authcache"
	"github.com/latchkey/latchkey/password"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/sqlstore"
)

// Bench is an open load run: a target server, its seeded users and an
// HTTP client of Connections keep-alive connections.
type Bench struct {
	cfg      Config
	URL      string       // the server's base URL
	DB       *sqlstore.DB // the database when the bench can reach it, else nil
	Service  *latchkey.Service
	Database string // "sqlite", "postgres" or "" when unknown
	client   *http.Client
	hasher   password.Hasher
	pid      int    // process whose memory is reported; 0: none
	IdleRSS  int64  // bytes resident before seeding; 0 when unknown
	hash     string // the one password hash all seeded users share
	sessions []Session
	closers  []func()
}

// Open starts or reaches the server and seeds cfg.SeedUsers users.
func Open(ctx context.Context, cfg Config) (*Bench, error) {
	if err := cfg.Validate(Scenarios); err != nil {
		return nil, err
	}
	b := &Bench{cfg: cfg, hasher: password.Hasher{Params: cfg.Password}, client: newClient(cfg.Connections)}
	b.closers = append(b.closers, b.client.CloseIdleConnections)
	var err error
	if cfg.Target == "" {
		err = b.startServer(ctx)
	} else {
		err = b.reach(ctx)
	}
	if err == nil {
		err = b.seedUsers(ctx)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close stops the in-process server and removes its temporary database.
func (b *Bench) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
}

func (b *Bench) progress(format string, args ...any) {
	if b.cfg.Progress != nil {
		fmt.Fprintf(b.cfg.Progress, format+"\n", args...)
	}
}

func dialect(dbURL string) string {
	switch {
	case strings.HasPrefix(dbURL, "sqlite://"):
		return sqlstore.SQLite
	case strings.HasPrefix(dbURL, "postgres"):
		return sqlstore.Postgres
	}
	return ""
}

// startServer runs a server in this process on 127.0.0.1:0, configured as
// `latchkey serve` would be with rate limits off and request logs encoded
// (their cost is part of the server's) but discarded.
func (b *Bench) startServer(ctx context.Context) error {
	dbURL := b.cfg.DatabaseURL
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "latchkey-bench-")
		if err != nil {
			return err
		}
		b.closers = append(b.closers, func() { os.RemoveAll(dir) })
		dbURL = "sqlite://" + filepath.Join(dir, "latchkey.db")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.URL = "http://" + ln.Addr().String()
	b.pid = os.Getpid()
	b.IdleRSS = readRSS(b.pid)
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		ln.Close()
		return fmt.Errorf("database: %w", err)
	}
	b.closers = append(b.closers, func() { db.Close() })
	b.DB, b.Database = db, db.Dialect
	if !b.cfg.NoAuthCache { // as `latchkey serve` does
		if err := db.StartAuthCache(authcache.Options{}); err != nil {
			ln.Close()
			return err
		}
	}
	cfg := latchkey.DefaultConfig()
	cfg.PublicURL, cfg.DashboardURL, cfg.Issuer = b.URL, b.URL, b.URL
	cfg.RateLimits = false
	cfg.Password = b.hasher
	logger := slog.New(server.LogHandler(slog.NewJSONHandler(io.Discard, nil)))
	svc := &latchkey.Service{Store: db.Store(), Config: cfg, Logger: logger}
	if err := svc.Open(ctx); err != nil {
		ln.Close()
		return err
	}
	b.Service = svc
	srv, err := server.New(server.Config{Service: svc, Logger: logger, PublicURL: b.URL, DashboardURL: b.URL})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go hs.Serve(ln)
	b.closers = append(b.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	})
	b.progress("in-process server at %s on %s", b.URL, redact(dbURL))
	return nil
}

// reach checks that the external target answers, and opens its database
// when one is given so users can be seeded straight into it.
func (b *Bench) reach(ctx context.Context) error {
	b.URL = strings.TrimRight(b.cfg.Target, "/")
	if err := b.expect(ctx, http.MethodGet, "/healthz", "", nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if b.cfg.ServerPID > 0 {
		b.pid = b.cfg.ServerPID
		if b.IdleRSS = readRSS(b.pid); b.IdleRSS == 0 {
			return fmt.Errorf("server pid %d: no readable /proc/%d/status", b.pid, b.pid)
		}
	}
	b.Database = dialect(b.cfg.DatabaseURL)
	if b.cfg.DatabaseURL != "" {
		db, err := sqlstore.Open(ctx, b.cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		b.closers = append(b.closers, func() { db.Close() })
		b.DB = db
	}
	b.progress("target %s", b.URL)
	return nil
}

// newClient returns a client of at most conns keep-alive connections
// that dials loopback addresses only.
func newClient(conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// loopbackOnly refuses to connect anywhere but loopback, whatever a name
// resolved to.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("loadtest: refusing to connect to non-loopback address " + address)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact hides a password in a database URL.
func redact(raw string) string {
	at := strings.Index(raw, "@")
	scheme := strings.Index(raw, "://")
	if at < 0 || scheme < 0 || scheme > at {
		return raw
	}
	if colon := strings.Index(raw[scheme+3:at], ":"); colon >= 0 {
		return raw[:scheme+3+colon] + ":***" + raw[at:]
	}
	return raw
}
