package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"modernc.org/sqlite"
)

// hotReader runs the per-request reads (an access token's session, an API
// key) on SQLite through the driver itself, on connections of its own with
// each statement prepared once. database/sql's pool, per-connection
// statement bookkeeping and Scan conversions cost about a third of these
// reads (docs/benchmarks.md).
type hotReader struct {
	conns chan *hotConn
}

// hotConn is one connection, used by one query at a time.
type hotConn struct {
	c     driver.Conn
	stmts map[string]driver.StmtQueryContext
	vals  []driver.Value // the row being read
}

func newHotReader(dsn string, n int) (*hotReader, error) {
	h := &hotReader{conns: make(chan *hotConn, n)}
	for range n {
		c, err := (&sqlite.Driver{}).Open(dsn)
		if err != nil {
			h.close()
			return nil, err
		}
		h.conns <- &hotConn{c: c, stmts: map[string]driver.StmtQueryContext{}}
	}
	return h, nil
}

// queryRow runs query and stores its first row in dest; sql.ErrNoRows when
// there is none.
func (h *hotReader) queryRow(ctx context.Context, query string, dest []any, args ...any) error {
	var hc *hotConn
	select {
	case hc = <-h.conns:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { h.conns <- hc }()
	st, ok := hc.stmts[query]
	if !ok {
		p, err := hc.c.(driver.ConnPrepareContext).PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		st = p.(driver.StmtQueryContext)
		hc.stmts[query] = st
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	// Not cancellable: with a context that can end, modernc starts a
	// watcher goroutine and a progress handler per statement, which cost
	// more than these index lookups themselves. A lookup takes
	// microseconds; a wait for a lock (WAL recovery) is still bounded by
	// busy_timeout.
	rows, err := st.QueryContext(context.WithoutCancel(ctx), named)
	if err != nil {
		return err
	}
	defer rows.Close()
	if cap(hc.vals) < len(dest) {
		hc.vals = make([]driver.Value, len(dest))
	}
	vals := hc.vals[:len(dest)]
	if err := rows.Next(vals); errors.Is(err, io.EOF) {
		return sql.ErrNoRows
	} else if err != nil {
		return err
	}
	for i, v := range vals {
		dest[i] = v
	}
	return nil
}

func (h *hotReader) close() {
	for {
		select {
		case hc := <-h.conns:
			for _, st := range hc.stmts {
				st.(driver.Stmt).Close()
			}
			hc.c.Close()
		default:
			return
		}
	}
}

// hotRow reads one row of a hot-path query into dest: on SQLite through
// the hotReader, elsewhere (PostgreSQL, or inside a transaction) through
// database/sql. Values come as the drivers give them: string, int64,
// bool (PostgreSQL), or nil for NULL.
func (s *Store) hotRow(ctx context.Context, query string, dest []any, args ...any) error {
	if s.db.hot != nil && !s.inTx {
		return s.db.hot.queryRow(ctx, query, dest, args...)
	}
	if s.db.gate != nil && !s.inTx {
		select {
		case s.db.gate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.db.gate }()
	}
	ptrs := make([]any, len(dest))
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	return s.r.QueryRowContext(ctx, query, args...).Scan(ptrs...)
}

// row decodes the values hotRow read. A value of a type the column
// cannot have is an error, never a zero: a revoked_at that failed to
// decode must not read as NULL (a live session).
type row struct {
	v   []any
	err error
}

func (r *row) fail(i int, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("sqlstore: column %d is %T, want %s", i, r.v[i], want)
	}
}

// text reads a text column; NULL is "".
func (r *row) text(i int) string {
	switch x := r.v[i].(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	r.fail(i, "text")
	return ""
}

// integer reads a NOT NULL integer column.
func (r *row) integer(i int) int64 {
	n, ok := r.v[i].(int64)
	if !ok {
		r.fail(i, "an integer")
	}
	return n
}

// nullInteger reads an integer column that may be NULL.
func (r *row) nullInteger(i int) sql.NullInt64 {
	if r.v[i] == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: r.integer(i), Valid: true}
}

// boolean reads a boolean column: BOOLEAN on PostgreSQL, 0 or 1 on SQLite.
func (r *row) boolean(i int) bool {
	switch x := r.v[i].(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	r.fail(i, "a boolean")
	return false
}
