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
	vals  []driver.Value // the row being read, before assign
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

// queryRow runs query and scans its first row into dest (see assign);
// sql.ErrNoRows when there is none.
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
	return assign(dest, vals)
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

// hotRow is QueryRowContext for the per-request reads: on SQLite through
// the hotReader, elsewhere (PostgreSQL, or inside a transaction) through
// database/sql, whose connections PostgreSQL's reads wait for in arrival
// order. The query runs when Scan is called.
func (s *Store) hotRow(ctx context.Context, query string, args ...any) scanner {
	return hotRow{s: s, ctx: ctx, query: query, args: args}
}

type hotRow struct {
	s     *Store
	ctx   context.Context
	query string
	args  []any
}

func (h hotRow) Scan(dest ...any) error {
	s, ctx := h.s, h.ctx
	if s.db.hot != nil && !s.inTx {
		return s.db.hot.queryRow(ctx, h.query, dest, h.args...)
	}
	if s.db.gate != nil && !s.inTx {
		select {
		case s.db.gate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.db.gate }()
	}
	return s.r.QueryRowContext(ctx, h.query, h.args...).Scan(dest...)
}

// assign stores the values SQLite's driver read (string or []byte, int64,
// nil) in the destinations the hot queries scan into. A value a
// destination cannot hold is an error, never a zero: a revoked_at that
// failed to decode must not read as NULL (a live session).
func assign(dest []any, vals []driver.Value) error {
	for i, v := range vals {
		if b, isBytes := v.([]byte); isBytes {
			v = string(b)
		}
		ok := false
		switch d := dest[i].(type) {
		case *string:
			*d, ok = v.(string)
		case *sql.NullString:
			d.String, d.Valid = v.(string)
			ok = d.Valid || v == nil
		case *int64:
			*d, ok = v.(int64)
		case *sql.NullInt64:
			d.Int64, d.Valid = v.(int64)
			ok = d.Valid || v == nil
		case *bool:
			var n int64
			n, ok = v.(int64)
			*d = n != 0
		}
		if !ok {
			return fmt.Errorf("sqlstore: column %d is %T, which %T cannot hold", i, v, dest[i])
		}
	}
	return nil
}
