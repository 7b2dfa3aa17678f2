// Package loadtest drives Latchkey with real HTTP traffic and reports
// throughput, latency percentiles, errors and the server's memory: the
// engine of `latchkey bench`. It talks to a running server on loopback or
// starts one in-process on SQLite or PostgreSQL, seeds users straight into
// the database, and runs each scenario for a fixed duration at a fixed
// number of keep-alive connections. Any response the scenario did not
// expect is an error, so a fast error path can never pass for speed.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/password"
)

// Scenario names, in the order a full run takes them.
const (
	Ceiling  = "ceiling"   // GET /healthz: the HTTP stack's own limit
	MeBearer = "me-bearer" // auth.me with an access token in Authorization
	MeCookie = "me-cookie" // auth.me with the access cookie
	MeAPIKey = "me-apikey" // auth.me with a secret API key
	Refresh  = "refresh"   // auth.refresh, each worker rotating its own lineage
	Login    = "login"     // auth.login of seeded users
	Register = "register"  // auth.register of new users
	Hash     = "hash"      // argon2id verify with the server's parameters, no HTTP

	AdminUsers       = "admin-users"        // admin.users.list, the newest 50, with an admin key
	AdminUsersPrefix = "admin-users-prefix" // admin.users.list with an email prefix that 100 seeded users share
	AdminUsersCommon = "admin-users-common" // admin.users.list with an email prefix every seeded user has
)

// Scenarios lists every scenario in run order.
var Scenarios = []string{Ceiling, MeBearer, MeCookie, MeAPIKey, Refresh, Login, Register, Hash, AdminUsers, AdminUsersPrefix, AdminUsersCommon}

// Limits that keep every run bounded.
const (
	MaxConnections = 1024
	MaxDuration    = 10 * time.Minute
	MaxSeedUsers   = 10_000_000
)

// Config describes a load run.
type Config struct {
	// Target is the base URL of a running server, on loopback only. Empty
	// starts a server in-process.
	Target string
	// DatabaseURL is the in-process server's database (empty: a fresh
	// SQLite file in a temporary directory, removed on Close). With Target
	// set, it is the running server's database, and users are seeded
	// straight into it instead of through auth.register.
	DatabaseURL string
	Connections int           // concurrent workers, each on its own keep-alive connection
	Duration    time.Duration // per scenario
	SeedUsers   int           // users to create before the first scenario
	// ServerPID is the external server's process, for its memory; zero
	// leaves memory unreported. In-process the bench reads its own.
	ServerPID int
	// Password is the server's argon2id parameters: seeded hashes and the
	// hash scenario use them, and so does the in-process server.
	Password password.Params
	// NoAuthCache runs the in-process server on PostgreSQL without the
	// revocation cache (LATCHKEY_AUTH_CACHE=off), to measure what it buys.
	NoAuthCache bool
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

// DefaultConfig is a run of every scenario at 64 connections.
func DefaultConfig() Config {
	return Config{Connections: 64, Duration: 10 * time.Second, SeedUsers: 1000, Password: password.DefaultParams}
}

// Validate checks the configuration and the scenario names.
func (c Config) Validate(scenarios []string) error {
	switch {
	case c.Connections < 1 || c.Connections > MaxConnections:
		return fmt.Errorf("connections must be from 1 to %d", MaxConnections)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration must be positive and at most %s", MaxDuration)
	case c.SeedUsers < 1 || c.SeedUsers > MaxSeedUsers:
		return fmt.Errorf("seed users must be from 1 to %d", MaxSeedUsers)
	case c.ServerPID < 0:
		return errors.New("server pid must be positive")
	case c.NoAuthCache && c.Target != "":
		return errors.New("no-auth-cache applies to the in-process server; set LATCHKEY_AUTH_CACHE=off on the target instead")
	}
	if c.Target != "" {
		if err := checkLoopbackURL(c.Target); err != nil {
			return err
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "sqlite://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errors.New("database URL must start with sqlite:// or postgres://")
	}
	if len(scenarios) == 0 {
		return errors.New("no scenario given")
	}
	for _, s := range scenarios {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	return nil
}

// checkLoopbackURL accepts only http URLs whose host is a loopback
// address or localhost: the tool must never load anyone else's server.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("target %q must be an http:// URL", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("target %q is not on loopback (127.0.0.0/8, ::1 or localhost)", raw)
	}
	return nil
}

// Run opens a bench, runs the scenarios in order and closes it. A
// scenario that met unexpected responses does not stop the others; the
// returned error names every failed one.
func Run(ctx context.Context, cfg Config, scenarios []string) (*Report, error) {
	if err := cfg.Validate(scenarios); err != nil {
		return nil, err
	}
	b, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	rep := b.newReport()
	var failed []string
	for _, name := range scenarios {
		res, err := b.Run(ctx, name)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		rep.Results = append(rep.Results, res)
		b.progress("%s", res.Line())
		if res.Err() != nil {
			failed = append(failed, res.Err().Error())
		}
	}
	rep.finish()
	rep.HWM = readHWM(b.pid)
	if len(failed) > 0 {
		return rep, errors.New(strings.Join(failed, "; "))
	}
	return rep, nil
}
