package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
)

// TestAdminUsersPrefixPlans: on SQLite a common email prefix walks the
// newest users instead of the email index; both plans give the same
// pages, newest first, and the keyset cursor works on both.
func TestAdminUsersPrefixPlans(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		ctx := context.Background()
		st := open(t, d).Store()
		base := time.Now().UTC().Truncate(time.Microsecond)
		type row struct {
			id, email string
			at        time.Time
		}
		var all []row
		for i := range 30 {
			email := fmt.Sprintf("ann%02d@example.com", i)
			if i%3 == 0 {
				email = fmt.Sprintf("bob%02d@example.com", i)
			}
			at := base.Add(time.Duration(i%7) * time.Millisecond) // ties on created_at
			all = append(all, row{fmt.Sprintf("usr_%02d", i), email, at})
			if err := st.CreateUser(ctx, latchkey.User{ID: fmt.Sprintf("usr_%02d", i), Email: email, CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		pages := func(prefix string) []string {
			var out []string
			f := latchkey.AdminUserFilter{EmailPrefix: prefix, Limit: 4}
			for {
				list, err := st.AdminUsers(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range list {
					out = append(out, u.ID)
				}
				if len(list) < f.Limit {
					return out
				}
				last := list[len(list)-1]
				f.After = latchkey.Cursor{At: last.CreatedAt, ID: last.ID}
			}
		}
		for _, prefix := range []string{"ann", "bob", "a", "zed"} {
			sparse := pages(prefix)
			restore := sqlstore.SetDensePrefixRows(2)
			dense := pages(prefix)
			restore()
			if !slices.Equal(sparse, dense) {
				t.Errorf("prefix %q: %v through the email index, %v through users_created", prefix, sparse, dense)
			}
			var want []string
			slices.SortFunc(all, func(a, b row) int {
				if c := b.at.Compare(a.at); c != 0 {
					return c
				}
				return strings.Compare(b.id, a.id)
			})
			for _, r := range all {
				if strings.HasPrefix(r.email, prefix) {
					want = append(want, r.id)
				}
			}
			if !slices.Equal(dense, want) {
				t.Errorf("prefix %q: %v, want %v", prefix, dense, want)
			}
		}
	})
}
