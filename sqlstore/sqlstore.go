// Package sqlstore stores Latchkey's data in SQLite (modernc, pure Go) or
// PostgreSQL (pgx) through database/sql: one set of queries, a small
// dialect shim for the few differences, and embedded migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/authcache"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is an open database: for SQLite one writer connection and a pool of
// readers (WAL lets them run beside the writer); for PostgreSQL one pool.
type DB struct {
	Dialect string
	write   *sql.DB
	read    *sql.DB
	// On SQLite, queries run as statements prepared once (stmtcache.go);
	// pgx keeps its own statement cache on PostgreSQL.
	writeStmts, readStmts *stmtCache
	hot                   *hotReader // SQLite only
	// gate queues PostgreSQL's per-request reads in arrival order, one per
	// connection: database/sql hands a freed connection to a random waiter,
	// which stretched auth.me's p99 by a fifth under load.
	gate chan struct{}
	// On PostgreSQL, a server's cache of the per-request reads
	// (authcache.go); nil elsewhere and until StartAuthCache.
	dsn   string
	cache *authcache.Node
}

// Open connects to a database URL: sqlite:///abs/path.db, sqlite://./rel.db
// or postgres://…. A SQLite file's directory is created when missing.
// Open applies pending migrations.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	db, err := open(rawURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func open(rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path, err := sqlitePath(rawURL)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// IMMEDIATE transactions take the write lock up front, so a
		// transaction that reads then writes never fails on the upgrade.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		w, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetConnMaxIdleTime(0)
		r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		hot, err := newHotReader(dsn+"&_pragma=query_only(1)", 4)
		if err != nil {
			w.Close()
			r.Close()
			return nil, err
		}
		return &DB{Dialect: SQLite, write: w, read: r, writeStmts: newStmtCache(w), readStmts: newStmtCache(r), hot: hot}, nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dsn, conns, err := poolSize(rawURL)
		if err != nil {
			return nil, err
		}
		p, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		p.SetMaxOpenConns(conns)
		p.SetMaxIdleConns(conns)
		return &DB{Dialect: Postgres, write: p, read: p, gate: make(chan struct{}, conns), dsn: dsn}, nil
	}
	return nil, fmt.Errorf("database URL must start with sqlite:// or postgres://")
}

// poolSize takes pool_max_conns (the name pgx's own pool uses) out of a
// PostgreSQL URL: how many connections this process may open, by default
// 4 per CPU it runs on. More connections than that only queue in the
// database: on 2 CPUs, 8 served auth.me 20-40% faster than 32, with a
// shorter tail (docs/benchmarks.md).
func poolSize(rawURL string) (dsn string, conns int, err error) {
	conns = 4 * runtime.GOMAXPROCS(0)
	u, err := url.Parse(rawURL)
	if err != nil {
		// Not wrapped: url.Error would repeat the URL, password included.
		return "", 0, errors.New("database URL is not a valid URL")
	}
	q := u.Query()
	if !q.Has("pool_max_conns") {
		return rawURL, conns, nil
	}
	v := q.Get("pool_max_conns")
	if conns, err = strconv.Atoi(v); err != nil || conns < 1 || conns > 1000 {
		return "", 0, fmt.Errorf("database URL: pool_max_conns must be a number from 1 to 1000, not %q", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), conns, nil
}

// sqlitePath turns sqlite:///abs/x.db into /abs/x.db and sqlite://./x.db
// (or sqlite://x.db) into the relative path.
func sqlitePath(rawURL string) (string, error) {
	rest := strings.TrimPrefix(rawURL, "sqlite://")
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	p, err := url.PathUnescape(rest)
	if err != nil || p == "" || p == "/" {
		return "", fmt.Errorf("database URL %q names no file", rawURL)
	}
	return filepath.Clean(p), nil
}

// Close closes the connections.
func (db *DB) Close() error {
	if db.cache != nil {
		db.cache.Close()
	}
	if db.writeStmts != nil {
		db.writeStmts.close()
		db.readStmts.close()
		db.hot.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Store returns the latchkey.Store over this database.
func (db *DB) Store() *Store {
	if db.writeStmts != nil {
		return &Store{db: db, w: cachedPool{db.writeStmts}, r: cachedPool{db.readStmts}}
	}
	return &Store{db: db, w: db.write, r: db.read}
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store implements latchkey.Store. Outside a transaction writes go to the
// writer and reads to the readers; inside one, both go to the transaction.
type Store struct {
	db   *DB
	w, r querier
	inTx bool
	// changedAuth is set inside a transaction that wrote a row the auth
	// cache holds; Tx runs the barrier once it has committed.
	changedAuth *bool
}

var _ latchkey.Store = (*Store)(nil)

// Tx runs fn in a transaction on the writer.
func (s *Store) Tx(ctx context.Context, fn func(tx latchkey.Store) error) error {
	if s.inTx {
		return fn(s)
	}
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if s.db.writeStmts != nil {
		defer s.db.writeStmts.flush(ctx) // runs after the rollback below
	}
	// Rolled back on an error and on a panic in fn alike: a transaction
	// left open would hold SQLite's only writer connection forever.
	defer tx.Rollback()
	var q querier = tx
	if s.db.writeStmts != nil {
		q = cachedTx{tx, s.db.writeStmts}
	}
	changed := false
	if err := fn(&Store{db: s.db, w: q, r: q, inTx: true, changedAuth: &changed}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if changed {
		return s.db.cache.Sync(ctx)
	}
	return nil
}

// Ping checks both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.write.PingContext(ctx); err != nil {
		return err
	}
	return s.db.read.PingContext(ctx)
}

// forUpdate locks selected rows on PostgreSQL; SQLite's IMMEDIATE
// transactions already hold the database's write lock.
func (s *Store) forUpdate() string {
	if s.db.Dialect == Postgres && s.inTx {
		return " FOR UPDATE"
	}
	return ""
}

// translate maps driver errors to the domain's: a missing row to
// ErrNotFound, a unique violation to ErrConflict (by SQLSTATE or SQLite
// extended result code, never by message text).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return latchkey.ErrNotFound
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%w: %s", latchkey.ErrConflict, pg.ConstraintName)
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) && (lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("%w: %v", latchkey.ErrConflict, err)
	}
	return err
}

// exec runs a write and translates its error.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	_, err := s.write(ctx, query, args...)
	return translate(err)
}

// execOne runs a write that must touch exactly one row.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	res, err := s.write(ctx, query, args...)
	if err != nil {
		return translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return latchkey.ErrNotFound
	}
	return nil
}

// SQLitePath is the file an sqlite:// URL names (for files kept next to
// the database, such as the server secret).
func SQLitePath(rawURL string) (string, error) { return sqlitePath(rawURL) }
