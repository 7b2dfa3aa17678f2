package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// limitedNodes starts n nodes with request-rate limits on, all on db.
func limitedNodes(t *testing.T, db latchkeytest.Database, n int) []*latchkeytest.Env {
	var nodes []*latchkeytest.Env
	for range n {
		nodes = append(nodes, latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) {
			c.Issuer = "https://issuer.example.com"
			c.RateLimits = true
		}}))
	}
	return nodes
}

// guessInParallel sends guesses wrong sign-ins at once, spread over the
// nodes round-robin, and counts the answers by status.
func guessInParallel(t *testing.T, nodes []*latchkeytest.Env, body func(i int) map[string]any) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range guesses {
		c := nodes[i%len(nodes)].Client(t)
		wg.Go(func() {
			<-start
			r := c.Call("auth.login", body(i))
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
			if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After: %s", r.Body)
			}
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

// TestGuessLimitsHoldAcrossNodes: the sign-in limits are counted in the
// database, so 60 parallel wrong passwords split over two nodes on one
// PostgreSQL database (and over one SQLite node) get exactly the one-node
// budget before 429: 10 per account, 20 per IP.
func TestGuessLimitsHoldAcrossNodes(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		n := 1
		if db.Name == "postgres" {
			n = 2
		}
		nodes := limitedNodes(t, db, n)
		nodes[0].Client(t).Register("victim@example.com", "correct horse battery")

		t.Run("per account", func(t *testing.T) {
			got := guessInParallel(t, nodes, func(i int) map[string]any {
				return map[string]any{"email": "victim@example.com", "password": fmt.Sprintf("wrong guess %d", i)}
			})
			if got[http.StatusUnauthorized] != 10 || got[http.StatusTooManyRequests] != guesses-10 {
				t.Errorf("statuses %v, want 10 × 401 and %d × 429 over %d nodes", got, guesses-10, n)
			}
		})
		// The per-IP budget was partly spent above; new windows start
		// with a later clock.
		for _, node := range nodes {
			node.Clock.Advance(10 * time.Minute)
		}
		t.Run("per IP", func(t *testing.T) {
			got := guessInParallel(t, nodes, func(i int) map[string]any {
				return map[string]any{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong guess"}
			})
			if got[http.StatusUnauthorized] != 20 || got[http.StatusTooManyRequests] != guesses-20 {
				t.Errorf("statuses %v, want 20 × 401 and %d × 429 over %d nodes", got, guesses-20, n)
			}
		})
	})
}
