package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
)

// TestWebhooksSurviveKill: 500 registrations at 20 concurrency while the
// server is killed with SIGKILL twice and restarted (one node on SQLite;
// two on PostgreSQL, each killed once). Afterwards every user whose
// registration answered 200 got exactly one user.created, by webhook-id
// (repeats are retries of that id), no event names a user that is not in
// the database, and no attempt was sent twice at once.
//
// A registration cut off by the kill has no answer: it may or may not have
// committed. The database decides: a user in it must get its event, one not
// in it must not.
func TestWebhooksSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := cleanEnv(append(cheap, "LATCHKEY_DATABASE_URL="+db.URL, "LATCHKEY_RATE_LIMITS=off")...)
		nodes := 1
		if db.Name == "postgres" {
			nodes = 2
		}
		dirs := make([]string, nodes)
		running := make([]*node, nodes)
		bases := make([]atomic.Value, nodes)
		for i := range nodes {
			dirs[i] = t.TempDir()
			running[i] = startNode(t, dirs[i], env, "--addr", "127.0.0.1:0")
			bases[i].Store(running[i].base)
		}

		out, errOut, err := adminCLI(t, db, nil, "keys", "create", "--name", "crash", "--json")
		if err != nil {
			t.Fatalf("keys create: %v\n%s", err, errOut)
		}
		var key struct{ Secret string }
		if err := json.Unmarshal([]byte(out), &key); err != nil {
			t.Fatalf("keys create printed %q", out)
		}
		rcv := latchkeytest.NewReceiver(t)
		rcv.Delay(50 * time.Millisecond) // keeps sends in flight when a kill lands
		created := call(t, running[0].base, "admin.webhooks.create", key.Secret, map[string]any{"url": rcv.URL, "events": []string{"user.created"}})
		want(t, "admin.webhooks.create", created, 200, "")
		rcv.SetSecrets(created.str("secret"))

		const total, workers = 500, 20
		var (
			next, succeeded atomic.Int64
			refusal         atomic.Value // the first answer other than 200
			mu              sync.Mutex
			ok              = map[string]bool{} // email → answered 200
		)
		client := &http.Client{Timeout: 30 * time.Second}
		register := func(slot int, email string) bool {
			body, _ := json.Marshal(map[string]any{"email": email, "password": "correct horse battery"})
			res, err := client.Post(bases[slot].Load().(string)+"/v1/auth.register", "application/json", bytes.NewReader(body))
			// Refused connections never reached a server: wait for the
			// restart and send again. A request cut off in flight may
			// have committed, so it is not repeated.
			for errors.Is(err, syscall.ECONNREFUSED) {
				time.Sleep(20 * time.Millisecond)
				res, err = client.Post(bases[slot].Load().(string)+"/v1/auth.register", "application/json", bytes.NewReader(body))
			}
			if err != nil {
				return false
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(res.Body)
				refusal.CompareAndSwap(nil, fmt.Sprintf("%d %s", res.StatusCode, b))
			}
			return res.StatusCode == http.StatusOK
		}
		var wg sync.WaitGroup
		finished := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				for {
					n := next.Add(1)
					if n > total {
						return
					}
					email := fmt.Sprintf("crash%03d@example.com", n)
					if register(w%nodes, email) {
						succeeded.Add(1)
						mu.Lock()
						ok[email] = true
						mu.Unlock()
					}
				}
			})
		}
		// One node goes down after 150 successes and one (the other, with
		// two) after 300; each restarts in its folder. This runs on the test
		// goroutine because startNode may fail the test.
		go func() { wg.Wait(); close(finished) }()
	kills:
		for k, at := range []int64{150, 300} {
			for succeeded.Load() < at {
				select {
				case <-finished:
					break kills
				case <-time.After(time.Millisecond):
				}
			}
			// Kill while a send is being answered, so that attempt's
			// outcome is lost with the process and must be retried.
			deadline := time.Now().Add(10 * time.Second)
			for rcv.InFlight() == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("kill %d: no send in flight within 10 s", k+1)
				}
				time.Sleep(time.Millisecond)
			}
			i := k % nodes
			running[i].kill()
			running[i] = startNode(t, dirs[i], env, "--addr", "127.0.0.1:0")
			bases[i].Store(running[i].base)
		}
		wg.Wait()
		if len(ok) < 300 {
			t.Fatalf("only %d of %d registrations answered 200; the first refusal: %v", len(ok), total, refusal.Load())
		}

		st, err := sqlstore.Open(context.Background(), db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		inDB := map[string]string{} // email → user id
		for n := 1; n <= total; n++ {
			email := fmt.Sprintf("crash%03d@example.com", n)
			if u, err := st.Store().UserByEmail(context.Background(), email); err == nil {
				inDB[email] = u.ID
			} else if ok[email] {
				t.Errorf("%s answered 200 but is not in the database: %v", email, err)
			}
		}

		// A send cut off by a kill is retried once its 20 s lease lapses;
		// the server is done when nothing is pending.
		deadline := time.Now().Add(90 * time.Second)
		for {
			n, err := st.Store().PendingDeliveries(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d deliveries still pending after 90 s", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		hooks := rcv.Hooks()
		ids := map[string]map[string]bool{} // email → webhook-ids
		for _, h := range hooks {
			if h.Verified != nil {
				t.Errorf("hook %s: signature refused by the Standard Webhooks library: %v", h.ID, h.Verified)
			}
			email := hookEmail(h)
			if h.Type != "user.created" || inDB[email] == "" {
				t.Errorf("hook %s (%s) names %q, not a user in the database", h.ID, h.Type, email)
				continue
			}
			if id, _ := h.Data["user"].(map[string]any)["id"].(string); id != inDB[email] {
				t.Errorf("hook %s for %s carries user id %q, want %q", h.ID, email, id, inDB[email])
			}
			if ids[email] == nil {
				ids[email] = map[string]bool{}
			}
			ids[email][h.ID] = true
		}
		delivered := map[string]bool{}
		for _, h := range hooks {
			if h.Answered/100 == 2 {
				delivered[h.ID] = true
			}
		}
		for email := range inDB {
			if len(ids[email]) != 1 {
				t.Errorf("%s: %d distinct webhook-ids, want 1", email, len(ids[email]))
			}
			for id := range ids[email] {
				if !delivered[id] {
					t.Errorf("%s: webhook-id %s was never answered 2xx", email, id)
				}
			}
		}
		// With one node every kill cut off a send being answered; the
		// restarted node must send each again, with its webhook-id.
		if repeats := len(hooks) - len(delivered); nodes == 1 && repeats < 2 {
			t.Errorf("%d repeated sends after two kills mid-send, want at least 2", repeats)
		}
		if n := rcv.Overlaps(); n != 0 {
			t.Errorf("%d attempts were sent while the same webhook-id was still being answered", n)
		}
		t.Logf("%d answered 200, %d users in the database, %d requests for %d webhook-ids", len(ok), len(inDB), len(hooks), len(ids))
	})
}

func hookEmail(h latchkeytest.Hook) string {
	u, _ := h.Data["user"].(map[string]any)
	email, _ := u["email"].(string)
	return email
}
