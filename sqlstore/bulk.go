package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey"
)

// SeedAccount is one account for BulkCreateAccounts: a user, the org they
// own and their owner membership, as Register would leave them.
type SeedAccount struct {
	User latchkey.User
	Org  latchkey.Org
}

// bulkRows is how many rows one multi-row INSERT carries: 7 columns per
// user keeps it under SQLite's and PostgreSQL's bind-parameter limits.
const bulkRows = 1000

// bulkTx is how many accounts one transaction of BulkCreateAccounts holds.
const bulkTx = 10_000

// BulkCreateAccounts inserts n accounts, account(i) for i in 0..n-1, with
// multi-row INSERTs in transactions of 10,000: for load tests and imports
// that create many accounts at once, far faster than one transaction per
// account. It does not audit, send mail or check the password policy;
// ErrConflict when an email or slug is taken. progress, when not nil,
// hears the count after each transaction.
func (db *DB) BulkCreateAccounts(ctx context.Context, n int, account func(i int) SeedAccount, progress func(done int)) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.Dialect == SQLite {
		// Random ids land all over the indexes: a page cache of 256 MiB
		// for the duration keeps the inserts off the disk.
		var size int64
		if err := conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&size); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, size))
	}
	batch := make([]SeedAccount, 0, bulkTx)
	for i := 0; i < n; i += bulkTx {
		batch = batch[:0]
		for j := i; j < min(i+bulkTx, n); j++ {
			batch = append(batch, account(j))
		}
		if err := bulkTxInsert(ctx, conn, db.Dialect, batch); err != nil {
			return err
		}
		if progress != nil {
			progress(i + len(batch))
		}
	}
	return nil
}

func bulkTxInsert(ctx context.Context, conn *sql.Conn, dialect string, accounts []SeedAccount) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for len(accounts) > 0 {
		k := min(len(accounts), bulkRows)
		if err := insertAccounts(ctx, tx, dialect, accounts[:k]); err != nil {
			return translate(err)
		}
		accounts = accounts[k:]
	}
	return tx.Commit()
}

func insertAccounts(ctx context.Context, tx *sql.Tx, dialect string, batch []SeedAccount) error {
	users := make([]any, 0, 7*len(batch))
	orgs := make([]any, 0, 4*len(batch))
	members := make([]any, 0, 4*len(batch))
	for _, a := range batch {
		u, o := a.User, a.Org
		users = append(users, u.ID, u.Email, u.EmailVerified, u.Name, nullString(u.PasswordHash), ts(u.CreatedAt), ts(u.UpdatedAt))
		orgs = append(orgs, o.ID, o.Name, o.Slug, ts(o.CreatedAt))
		members = append(members, u.ID, o.ID, string(latchkey.RoleOwner), ts(o.CreatedAt))
	}
	stmts := []struct {
		head string
		cols int
		args []any
	}{
		{`INSERT INTO users (` + userColumns + `) VALUES `, 7, users},
		{`INSERT INTO orgs (id, name, slug, created_at) VALUES `, 4, orgs},
		{`INSERT INTO memberships (` + membershipColumns + `) VALUES `, 4, members},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.head+placeholders(dialect, len(batch), st.cols), st.args...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "($1, $2), ($3, $4)" for rows=2, cols=2, or with
// "?" on SQLite, which looks numbered parameters up by name one by one
// (quadratic in a statement of thousands).
func placeholders(dialect string, rows, cols int) string {
	var b strings.Builder
	b.Grow(rows * cols * 6)
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if dialect == SQLite {
				b.WriteByte('?')
			} else {
				fmt.Fprintf(&b, "$%d", r*cols+c+1)
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// AnalyzeAfterBulk settles the database after a bulk load, so that what
// runs next is measured as it would run on a database that grew slowly.
// On PostgreSQL it refreshes the planner's statistics (VACUUM ANALYZE of
// the tables BulkCreateAccounts fills), or autovacuum would do the same
// work later, in the middle of the next run. On SQLite it copies the
// write-ahead log into the database and truncates it: with the load still
// in a WAL of hundreds of megabytes, every page read searched the WAL's
// index first, and auth.me on 1,000,000 users cost 150 µs instead of 110.
func (db *DB) AnalyzeAfterBulk(ctx context.Context) error {
	q := `PRAGMA wal_checkpoint(TRUNCATE)`
	if db.Dialect == Postgres {
		q = `VACUUM (ANALYZE) users, orgs, memberships`
	}
	_, err := db.write.ExecContext(ctx, q)
	return err
}

// CountUsers counts every user: seeding tools use it to find what exists.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}
