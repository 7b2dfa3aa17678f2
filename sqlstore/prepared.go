package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// statements caches prepared statements of hot read queries on SQLite,
// where preparing (parsing and planning) a query costs more than running
// it. PostgreSQL needs none: pgx caches prepared statements per
// connection by itself.
type statements struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// readRow runs a one-row read query: on SQLite outside a transaction
// through a statement prepared once, otherwise as usual.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s.inTx || s.db.Dialect != SQLite {
		return s.r.QueryRowContext(ctx, query, args...)
	}
	st, err := s.db.stmts.get(ctx, s.db.read, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *statements) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *statements) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
