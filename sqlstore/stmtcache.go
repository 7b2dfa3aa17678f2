package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the cache; queries beyond it (none of the
// store's own: its queries are constants) run unprepared.
const maxCachedStatements = 256

// stmtCache prepares each distinct query once per pool. modernc's SQLite
// otherwise parses a query on every call, which cost a quarter of auth.me
// and a sixth of a refresh. database/sql keeps the statement prepared on
// each connection that ran it, and Tx.StmtContext reuses it on the
// transaction's connection.
//
// A query first met inside a transaction cannot be prepared there: the
// writer pool's one connection is the transaction's, so preparing on the
// pool would wait for it forever. It runs unprepared and is prepared once
// the transaction has ended (flush).
type stmtCache struct {
	db      *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// lookup returns the cached statement for query, or nil, never preparing.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// later notes a query to prepare when no transaction holds the pool.
func (c *stmtCache) later(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m != nil && len(c.m)+len(c.pending) < maxCachedStatements {
		c.pending[query] = true
	}
}

// flush prepares the queries noted by later. Call it outside transactions.
func (c *stmtCache) flush(ctx context.Context) {
	c.mu.RLock()
	n := len(c.pending)
	c.mu.RUnlock()
	if n == 0 {
		return
	}
	c.mu.Lock()
	queries := c.pending
	c.pending = map[string]bool{}
	c.mu.Unlock()
	for q := range queries {
		c.get(context.WithoutCancel(ctx), q) // a failure leaves the query unprepared
	}
}

// get returns the prepared statement for query, preparing it on a miss,
// or nil when the cache is full. It holds no lock while preparing: the
// pool's connection may be busy in a transaction that needs lookup.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st, full := c.m[query], c.m == nil || len(c.m) >= maxCachedStatements
	c.mu.RUnlock()
	if st != nil || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[query]; old != nil || c.m == nil {
		st.Close() // another goroutine prepared it first, or the cache closed
		return old, nil
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// cachedPool is a querier over a pool that runs queries as cached statements.
type cachedPool struct{ c *stmtCache }

func (p cachedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.c.get(ctx, query)
	if err != nil || st == nil {
		return p.c.db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (p cachedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.c.get(ctx, query)
	if err != nil || st == nil {
		return p.c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (p cachedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.c.get(ctx, query)
	if err != nil || st == nil {
		return p.c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// cachedTx runs a transaction's queries as the writer's cached statements.
type cachedTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (t cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	st := t.c.lookup(query)
	if st == nil {
		t.c.later(query)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
