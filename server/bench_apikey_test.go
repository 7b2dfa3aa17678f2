package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/latchkeytest"
)

// API-key hot path benchmarks, shaped like BenchmarkMeBearer: the real
// handler (routing, auth, store, JSON, logging, metrics) served into
// httptest recorders, so the network is not measured. Figures:
// docs/benchmarks.md, "API keys".

// keyBench runs fn on SQLite, and on PostgreSQL when
// LATCHKEY_TEST_POSTGRES_URL is set, with a server, an owner's access
// token and a secret key of the owner's org.
func keyBench(b *testing.B, fn func(b *testing.B, env *latchkeytest.Env, access, key string)) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			db := latchkeytest.SQLite(b)
			if name == "postgres" {
				db = latchkeytest.Postgres(b)
			}
			env := latchkeytest.New(b, latchkeytest.Options{Database: db})
			ctx := context.Background()
			c := client.New(env.URL)
			ses, err := c.Register(ctx, "bench@example.com", "correct horse battery")
			if err != nil {
				b.Fatal(err)
			}
			k, err := c.WithToken(ses.AccessToken).CreateAPIKey(ctx, "bench", []string{"api:read"})
			if err != nil {
				b.Fatal(err)
			}
			fn(b, env, ses.AccessToken, k.Secret)
		})
	}
}

func serveKeyMe(env *latchkeytest.Env, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/auth.me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	env.Server.ServeHTTP(rec, req)
	return rec
}

// BenchmarkMeAPIKey is auth.me with "Authorization: Bearer sk_live_…".
func BenchmarkMeAPIKey(b *testing.B) {
	keyBench(b, func(b *testing.B, env *latchkeytest.Env, _, key string) {
		b.ReportAllocs()
		for b.Loop() {
			if rec := serveKeyMe(env, key); rec.Code != http.StatusOK {
				b.Fatalf("auth.me: %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkMeAPIKeyParallel is the same from GOMAXPROCS goroutines.
func BenchmarkMeAPIKeyParallel(b *testing.B) {
	keyBench(b, func(b *testing.B, env *latchkeytest.Env, _, key string) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rec := serveKeyMe(env, key); rec.Code != http.StatusOK {
					b.Errorf("auth.me: %d %s", rec.Code, rec.Body)
					return
				}
			}
		})
	})
}

// BenchmarkAuthenticate compares the domain's two bearer checks without
// HTTP: a secret key (SHA-256, one indexed query) and a session's access
// token (Ed25519 verify, one indexed query).
func BenchmarkAuthenticate(b *testing.B) {
	keyBench(b, func(b *testing.B, env *latchkeytest.Env, access, key string) {
		ctx := context.Background()
		for _, tc := range []struct{ name, bearer string }{{"api_key", key}, {"access_token", access}} {
			b.Run(tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := env.Service.Authenticate(ctx, tc.bearer); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
