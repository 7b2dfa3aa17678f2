package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
	"github.com/latchkey/latchkey/sqlstore"
)

// SeedPassword is the password of every seeded user.
const SeedPassword = "bench-Password-4711"

// SeedEmail is the email of the i-th seeded user.
func SeedEmail(i int) string { return fmt.Sprintf("seed%08d@bench.example.com", i) }

// seedUsers makes sure users 0..SeedUsers-1 exist: straight into the
// database when the bench can reach it, else through auth.register.
func (b *Bench) seedUsers(ctx context.Context) error {
	start := time.Now()
	h, err := b.hasher.Hash(SeedPassword)
	if err != nil {
		return err
	}
	b.hash = h
	n := b.cfg.SeedUsers
	if b.DB == nil {
		if err := b.seedHTTP(ctx, n); err != nil {
			return err
		}
		b.progress("seeded %d users through auth.register in %s", n, time.Since(start).Round(time.Millisecond))
		return nil
	}
	st := b.DB.Store()
	if _, err := st.UserByEmail(ctx, SeedEmail(n-1)); err == nil {
		b.progress("users already seeded: %s exists", SeedEmail(n-1))
		return nil
	}
	if _, err := st.UserByEmail(ctx, SeedEmail(0)); err == nil {
		return fmt.Errorf("the database holds fewer than %d seeded users: seed a fresh database", n)
	}
	if err := SeedAccounts(ctx, b.DB, 0, n, h, b.progress); err != nil {
		return err
	}
	b.progress("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// SeedAccounts inserts users from..to-1 (SeedEmail addresses), each owning
// an org, all with the one password hash given. progress, when not nil,
// hears every 100,000.
func SeedAccounts(ctx context.Context, db *sqlstore.DB, from, to int, hash string, progress func(string, ...any)) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	account := func(i int) sqlstore.SeedAccount {
		email := SeedEmail(from + i)
		return sqlstore.SeedAccount{
			User: latchkey.User{ID: secret.ID("usr_"), Email: email, EmailVerified: true, PasswordHash: hash, CreatedAt: now, UpdatedAt: now},
			Org:  latchkey.Org{ID: secret.ID("org_"), Name: email[:12] + "'s org", Slug: email[:12], CreatedAt: now},
		}
	}
	report := func(done int) {
		if progress != nil && done%100_000 == 0 {
			progress("seeded %d users", done)
		}
	}
	if err := db.BulkCreateAccounts(ctx, to-from, account, report); err != nil {
		return fmt.Errorf("seeding users: %w", err)
	}
	return db.AnalyzeAfterBulk(ctx)
}

// seedHTTP registers the users through the API; an email already taken
// is a user seeded by an earlier run.
func (b *Bench) seedHTTP(ctx context.Context, n int) error {
	return b.parallel(ctx, n, func(ctx context.Context, i int) error {
		body := map[string]string{"email": SeedEmail(i), "password": SeedPassword}
		err := b.expect(ctx, http.MethodPost, "/v1/auth.register", "", body, http.StatusOK, nil)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusConflict {
			return nil
		}
		return err
	})
}

// Session is a signed-in seeded user, as a worker holds it.
type Session struct {
	Email        string
	AccessToken  string
	RefreshToken string
	APIKey       string // set by the me-apikey scenario
}

// sessionsFor signs in n seeded users (worker i as user i modulo the
// seeded count) through auth.login.
func (b *Bench) sessionsFor(ctx context.Context, n int) ([]Session, error) {
	out := make([]Session, n)
	err := b.parallel(ctx, n, func(ctx context.Context, i int) error {
		email := SeedEmail(i % b.cfg.SeedUsers)
		var res struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := b.expect(ctx, http.MethodPost, "/v1/auth.login", "", map[string]string{"email": email, "password": SeedPassword}, http.StatusOK, &res); err != nil {
			return err
		}
		if res.AccessToken == "" || res.RefreshToken == "" {
			return errors.New("auth.login answered without tokens")
		}
		out[i] = Session{Email: email, AccessToken: res.AccessToken, RefreshToken: res.RefreshToken}
		return nil
	})
	return out, err
}

// adminKey mints an admin key in the database, as `latchkey admin keys
// create` does; a bench that cannot reach the database cannot.
func (b *Bench) adminKey(ctx context.Context) (string, error) {
	svc := b.Service
	if svc == nil && b.DB != nil {
		svc = &latchkey.Service{Store: b.DB.Store(), Config: latchkey.DefaultConfig(), Logger: slog.New(slog.DiscardHandler)}
	}
	if svc == nil {
		return "", fmt.Errorf("%w: admin keys are made in the database; give --database-url", errUnavailable)
	}
	_, key, err := svc.CreateAdminKey(ctx, "latchkey bench")
	return key.Reveal(), err
}

// errUnavailable marks a scenario the target cannot run yet.
var errUnavailable = errors.New("unavailable")

// createAPIKeys gives each session's org a secret key with api:read. A
// server without org.api_keys.create makes the scenario unavailable.
func (b *Bench) createAPIKeys(ctx context.Context, list []Session) error {
	return b.parallel(ctx, len(list), func(ctx context.Context, i int) error {
		var res struct {
			Secret string `json:"secret"`
		}
		body := map[string]any{"name": "bench", "scopes": []string{latchkey.ScopeAPIRead}}
		err := b.expect(ctx, http.MethodPost, "/v1/org.api_keys.create", "Bearer "+list[i].AccessToken, body, http.StatusOK, &res)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			return fmt.Errorf("%w: the server has no operation org.api_keys.create (%s)", errUnavailable, se.body)
		}
		if err != nil {
			return err
		}
		if res.Secret == "" {
			return errors.New("org.api_keys.create answered without a secret")
		}
		list[i].APIKey = res.Secret
		return nil
	})
}

// parallel runs fn for 0..n-1 on at most Connections goroutines and
// returns the first error.
func (b *Bench) parallel(parent context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range min(n, b.cfg.Connections) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = parent.Err()
	}
	return first
}

// statusError is a response with a status the caller did not expect.
type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: unexpected status %d: %s", e.method, e.path, e.status, e.body)
}

// expect sends one request and fails unless the answer has status want;
// out, when not nil, receives the JSON body.
func (b *Bench) expect(ctx context.Context, method, path, authorization string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		p, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(p)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	p, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return &statusError{method, path, resp.StatusCode, snippet(p)}
	}
	if out != nil {
		return json.Unmarshal(p, out)
	}
	return nil
}

func snippet(p []byte) string {
	p = bytes.TrimSpace(p)
	if len(p) > 200 {
		return string(p[:200]) + "…"
	}
	return string(p)
}
