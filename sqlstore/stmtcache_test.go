package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// TestStatementsUnderConcurrentTransactions: queries first met inside a
// transaction, while other goroutines read and write outside one, neither
// deadlock SQLite's single writer connection nor give wrong answers once
// they run as cached statements.
func TestStatementsUnderConcurrentTransactions(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		st := open(t, d).Store()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		now := time.Now().UTC().Truncate(time.Microsecond)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					u := latchkey.User{ID: fmt.Sprintf("usr_%d_%d", g, i), Email: fmt.Sprintf("u%d.%d@example.com", g, i), CreatedAt: now, UpdatedAt: now}
					err := st.Tx(ctx, func(tx latchkey.Store) error {
						if err := tx.CreateUser(ctx, u); err != nil {
							return err
						}
						_, err := tx.UserByEmail(ctx, u.Email)
						return err
					})
					if err == nil {
						u.Name = "renamed" // a write outside a transaction prepares on the writer pool
						err = st.UpdateUser(ctx, u)
					}
					if err == nil {
						var got latchkey.User
						if got, err = st.UserByID(ctx, u.ID); err == nil && (got.Email != u.Email || got.Name != "renamed") {
							err = fmt.Errorf("read %+v back as %+v", u, got)
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("transactions and reads deadlocked")
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
