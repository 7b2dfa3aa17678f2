package server_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/latchkeytest"
)

// benchDatabases runs fn on SQLite, and on PostgreSQL when
// LATCHKEY_TEST_POSTGRES_URL is set.
func benchDatabases(b *testing.B, fn func(b *testing.B, db latchkeytest.Database)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, latchkeytest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, latchkeytest.Postgres(b)) })
}

// benchKey registers an owner and returns a server, the owner's access
// token and a secret key of their org.
func benchKey(b *testing.B, db latchkeytest.Database) (*latchkeytest.Env, string, string) {
	b.Helper()
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
	return env, ses.AccessToken, k.Secret
}

// BenchmarkMeAPIKey is auth.me over HTTP with "Authorization: Bearer
// sk_live_…": the API-key hot path end to end (HTTP, one indexed lookup
// by hash, JSON), on one keep-alive connection per goroutine.
func BenchmarkMeAPIKey(b *testing.B) {
	benchDatabases(b, func(b *testing.B, db latchkeytest.Database) {
		env, _, key := benchKey(b, db)
		req := func(hc *http.Client) {
			r, _ := http.NewRequest(http.MethodGet, env.URL+"/v1/auth.me", nil)
			r.Header.Set("Authorization", "Bearer "+key)
			res, err := hc.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("auth.me: %d", res.StatusCode)
			}
		}
		b.Run("serial", func(b *testing.B) {
			hc := &http.Client{}
			b.ReportAllocs()
			for b.Loop() {
				req(hc)
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				for pb.Next() {
					req(hc)
				}
			})
		})
	})
}

// BenchmarkAuthenticate compares the domain's credential checks without
// HTTP: a secret key (SHA-256, one query) and a session access token
// (Ed25519 verify, one query).
func BenchmarkAuthenticate(b *testing.B) {
	benchDatabases(b, func(b *testing.B, db latchkeytest.Database) {
		env, access, key := benchKey(b, db)
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
