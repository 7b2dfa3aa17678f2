package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
)

// BenchmarkCountAttempt is the cost of one attempt counter on the login
// path (the upsert on attempt_counters); a password sign-in with limits
// on pays two. Figures: docs/benchmarks.md.
func BenchmarkCountAttempt(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			db := latchkeytest.SQLite(b)
			if name == "postgres" {
				db = latchkeytest.Postgres(b)
			}
			d, err := sqlstore.Open(context.Background(), db.URL)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			st, ctx, now := d.Store(), context.Background(), time.Now()
			i := 0
			for b.Loop() {
				i++
				if _, _, err := st.CountAttempt(ctx, fmt.Sprintf("rl:login-ip:10.0.%d.%d", i>>8&255, i&255), time.Minute, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
