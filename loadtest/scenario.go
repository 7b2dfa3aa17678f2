package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/secret"
)

// op performs one request of a worker and returns an error for any
// answer the scenario does not expect.
type op func(ctx context.Context) error

// Plan is a prepared scenario: one op per worker, and the sessions the
// workers hold. Prepare it, then Run it.
type Plan struct {
	b        *Bench
	Scenario string
	Sessions []Session
	ops      []op
}

// Prepare sets up a scenario: signs in one session per worker, creates API
// keys, and so on. A scenario the server cannot run (me-apikey before API
// keys exist) returns an error wrapping the reason; Run reports it as
// unavailable.
func (b *Bench) Prepare(ctx context.Context, name string) (*Plan, error) {
	p := &Plan{b: b, Scenario: name}
	w := b.cfg.Connections
	var err error
	switch name {
	case Ceiling:
		p.ops = b.repeat(w, func(int) op { return b.get("/healthz", "", "") })
	case MeBearer, MeCookie, MeAPIKey:
		if b.sessions == nil {
			if b.sessions, err = b.sessionsFor(ctx, w); err != nil {
				return nil, err
			}
		}
		p.Sessions = b.sessions
		if name == MeAPIKey {
			p.Sessions = append([]Session(nil), b.sessions...)
			if err := b.createAPIKeys(ctx, p.Sessions); err != nil {
				return nil, err
			}
		}
		p.ops = b.repeat(w, func(i int) op {
			s := p.Sessions[i]
			switch name {
			case MeCookie:
				return b.get("/v1/auth.me", "", "latchkey_access="+s.AccessToken)
			case MeAPIKey:
				return b.get("/v1/auth.me", "Bearer "+s.APIKey, "")
			}
			return b.get("/v1/auth.me", "Bearer "+s.AccessToken, "")
		})
	case Refresh:
		// Fresh sessions: rotating shares no lineage with other scenarios.
		if p.Sessions, err = b.sessionsFor(ctx, w); err != nil {
			return nil, err
		}
		p.ops = b.repeat(w, func(i int) op { return b.refresh(&p.Sessions[i]) })
	case Login:
		p.ops = b.repeat(w, func(i int) op { return b.login(i) })
	case Register:
		run := secret.ID("")[:8]
		p.ops = b.repeat(w, func(i int) op { return b.register(fmt.Sprintf("reg-%s-%d", strings.ToLower(run), i)) })
	case Hash:
		p.ops = b.repeat(w, func(int) op { return b.verifyHash })
	case AdminUsers, AdminUsersPrefix, AdminUsersCommon:
		key, err := b.adminKey(ctx)
		if err != nil {
			return nil, err
		}
		// Users 100-199 share this prefix at every seed size from 200 up,
		// so the page is the same work at a thousand users as at a million.
		body := []byte(`{"limit":50}`)
		switch name {
		case AdminUsersPrefix:
			body = []byte(`{"limit":50,"query":"` + SeedEmail(100)[:10] + `"}`)
		case AdminUsersCommon:
			body = []byte(`{"limit":50,"query":"seed"}`)
		}
		p.ops = b.repeat(w, func(int) op {
			return func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL+"/v1/admin.users.list", bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				_, err = b.send(req, nil)
				return err
			}
		})
	default:
		return nil, fmt.Errorf("unknown scenario %q", name)
	}
	return p, nil
}

func (b *Bench) repeat(n int, mk func(i int) op) []op {
	ops := make([]op, n)
	for i := range ops {
		ops[i] = mk(i)
	}
	return ops
}

// get expects 200 from a GET with an Authorization or Cookie header.
func (b *Bench) get(path, authorization, cookie string) op {
	url := b.URL + path
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		_, err = b.send(req, nil)
		return err
	}
}

// post expects 200 from a JSON POST and returns the response.
func (b *Bench) post(ctx context.Context, path string, body []byte, cookie string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return b.send(req, nil)
}

// send performs req, drains the body (so the connection is reused) and
// fails unless the status is 200.
func (b *Bench) send(req *http.Request, out any) (*http.Response, error) {
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp, &statusError{req.Method, req.URL.Path, resp.StatusCode, snippet(p)}
	}
	if out != nil {
		return resp, json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp, err
}

// refresh rotates the session's refresh token and keeps the new one.
func (b *Bench) refresh(s *Session) op {
	return func(ctx context.Context) error {
		resp, err := b.post(ctx, "/v1/auth.refresh", nil, "latchkey_refresh="+s.RefreshToken)
		if err != nil {
			return err
		}
		for _, c := range resp.Cookies() {
			if c.Name == "latchkey_refresh" && c.Value != "" {
				s.RefreshToken = c.Value
				return nil
			}
		}
		return errors.New("auth.refresh answered 200 without a new refresh cookie")
	}
}

// login signs in seeded users picked at random, so a large user table is
// read all over.
func (b *Bench) login(worker int) op {
	rng := rand.New(rand.NewPCG(uint64(worker), 7))
	return func(ctx context.Context) error {
		body, _ := json.Marshal(map[string]string{"email": SeedEmail(rng.IntN(b.cfg.SeedUsers)), "password": SeedPassword})
		_, err := b.post(ctx, "/v1/auth.login", body, "")
		return err
	}
}

// register creates a new account on every call.
func (b *Bench) register(prefix string) op {
	n := 0
	return func(ctx context.Context) error {
		n++
		body, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("%s-%d@bench.example.com", prefix, n), "password": SeedPassword})
		_, err := b.post(ctx, "/v1/auth.register", body, "")
		return err
	}
}

// verifyHash is the server's work for a login's password check, alone.
func (b *Bench) verifyHash(context.Context) error {
	ok, _, err := b.hasher.Verify(b.hash, SeedPassword)
	if err == nil && !ok {
		err = errors.New("the seeded password did not verify")
	}
	return err
}
