package sqlstore

import "context"

// OpenBefore opens a database and applies only the migrations named
// before first, for tests of a migration against older data; Migrate
// applies the rest.
func OpenBefore(ctx context.Context, rawURL, first string) (*DB, error) {
	db, err := open(rawURL)
	if err != nil {
		return nil, err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	names, _ := Migrations(db.Dialect)
	for _, name := range names {
		if name >= first {
			break
		}
		if err := db.apply(ctx, conn, name); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Exec runs a statement on the writer, for tests that build old rows.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := db.write.ExecContext(ctx, query, args...)
	return err
}

// SetDensePrefixRows lowers the threshold of densePrefix for a test.
func SetDensePrefixRows(n int) (restore func()) {
	old := densePrefixRows
	densePrefixRows = n
	return func() { densePrefixRows = old }
}
