package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/password"
)

// The hot paths through the real handler (routing, auth, store, JSON,
// logging, metrics) with httptest recorders, so the network is not
// measured. Figures: docs/benchmarks.md.

func benchDatabases(b *testing.B, opts latchkeytest.Options, fn func(b *testing.B, env *latchkeytest.Env)) {
	b.Run("sqlite", func(b *testing.B) {
		o := opts
		o.Database = latchkeytest.SQLite(b)
		fn(b, latchkeytest.New(b, o))
	})
	b.Run("postgres", func(b *testing.B) {
		o := opts
		o.Database = latchkeytest.Postgres(b)
		fn(b, latchkeytest.New(b, o))
	})
}

func serveOnce(env *latchkeytest.Env, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	env.Server.ServeHTTP(rec, req)
	return rec
}

func meRequest(token string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/v1/auth.me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func BenchmarkMeBearer(b *testing.B) {
	benchDatabases(b, latchkeytest.Options{}, func(b *testing.B, env *latchkeytest.Env) {
		token := env.Client(b).Register("bench@example.com", pw).Str("access_token")
		b.ReportAllocs()
		for b.Loop() {
			if rec := serveOnce(env, meRequest(token)); rec.Code != http.StatusOK {
				b.Fatalf("auth.me: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkMeBearerParallel(b *testing.B) {
	benchDatabases(b, latchkeytest.Options{}, func(b *testing.B, env *latchkeytest.Env) {
		token := env.Client(b).Register("bench@example.com", pw).Str("access_token")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rec := serveOnce(env, meRequest(token)); rec.Code != http.StatusOK {
					b.Errorf("auth.me: %d %s", rec.Code, rec.Body)
					return
				}
			}
		})
	})
}

func BenchmarkRefresh(b *testing.B) {
	benchDatabases(b, latchkeytest.Options{}, func(b *testing.B, env *latchkeytest.Env) {
		token := env.Client(b).Register("bench@example.com", pw).Str("refresh_token")
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/v1/auth.refresh", nil)
			req.Header.Set("Cookie", "latchkey_refresh="+token)
			rec := serveOnce(env, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("auth.refresh: %d %s", rec.Code, rec.Body)
			}
			token = ""
			for _, ck := range rec.Result().Cookies() {
				if ck.Name == "latchkey_refresh" {
					token = ck.Value
				}
			}
		}
	})
}

// BenchmarkLogin uses the default argon2id parameters: login is bounded
// by the password hash by design.
func BenchmarkLogin(b *testing.B) {
	opts := latchkeytest.Options{Configure: func(c *latchkey.Config) { c.Password = password.Hasher{Params: password.DefaultParams} }}
	benchDatabases(b, opts, func(b *testing.B, env *latchkeytest.Env) {
		env.Client(b).Register("bench@example.com", pw)
		body := `{"email": "bench@example.com", "password": "` + pw + `"}`
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/v1/auth.login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if rec := serveOnce(env, req); rec.Code != http.StatusOK {
				b.Fatalf("auth.login: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkLoginCounted is BenchmarkLogin with the request-rate limits
// on: every sign-in bumps two attempt counters in the database (per IP,
// per account). Each iteration comes from its own IP and the clock moves
// past the account window every few sign-ins, so no attempt is refused
// and every one pays both upserts. Compare with BenchmarkLogin.
func BenchmarkLoginCounted(b *testing.B) {
	opts := latchkeytest.Options{Configure: func(c *latchkey.Config) {
		c.Password = password.Hasher{Params: password.DefaultParams}
		c.RateLimits = true
	}}
	benchDatabases(b, opts, func(b *testing.B, env *latchkeytest.Env) {
		env.Client(b).Register("bench@example.com", pw)
		body := `{"email": "bench@example.com", "password": "` + pw + `"}`
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if i%8 == 0 {
				env.Clock.Advance(6 * time.Minute)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/auth.login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", i>>16&255, i>>8&255, i&255)
			if rec := serveOnce(env, req); rec.Code != http.StatusOK {
				b.Fatalf("auth.login: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
