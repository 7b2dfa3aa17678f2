package authcache

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The protocol's defaults (docs/architecture.md, "Revocation cache").
const (
	DefaultLease      = 2 * time.Second
	DefaultRenew      = 500 * time.Millisecond
	DefaultAckWait    = 250 * time.Millisecond
	DefaultMaxEntries = 100_000
	DefaultMaxAge     = time.Minute

	// channel carries the triggers' tags and the barriers
	// (migrations/postgres/0016_auth_cache.sql).
	channel = "latchkey_cache"
	// leaseMargin: a node stops answering this long before the database's
	// end of its lease, for the rates of two clocks that may differ.
	leaseMargin = 100 * time.Millisecond
)

// Options tune a Node; zero values take the defaults.
type Options struct {
	Lease      time.Duration // how long a renewal holds
	Renew      time.Duration // how often the lease is renewed
	AckWait    time.Duration // how long a barrier waits for a node's ack before it fences the node
	MaxEntries int
	MaxAge     time.Duration // how long an entry is answered before it is read again
	Logger     *slog.Logger
	// BeforeHandle, when set, is called with each notification's payload
	// before the listener acts on it: tests make a node slow or stuck.
	BeforeHandle func(payload string)
}

// Node is one server's member of the protocol on PostgreSQL: its cache,
// the listening connection that holds its lease and hears invalidations,
// and the barriers (Sync) its revocations wait on.
type Node struct {
	ID    string
	Cache *Cache

	db   *sql.DB
	cfg  *pgx.ConnConfig
	opts Options

	epoch atomic.Int64
	pid   atomic.Uint32 // the listening connection's backend, 0 while there is none

	mu      sync.Mutex
	waiters map[string]*waiter // barrier id → its acks

	cancel  context.CancelFunc
	done    chan struct{}
	metrics *metrics
}

// waiter collects the acks of one barrier.
type waiter struct {
	acks   map[string]bool // node ids; guarded by Node.mu
	signal chan struct{}
}

// Start begins a node: it listens on its own connection to dsn and runs
// barriers through db. The cache answers once the first lease is written,
// and whenever the lease or the listening connection is lost it stops
// answering (credentials are then read from the database, as without a
// cache) until they are back.
func Start(dsn string, db *sql.DB, opts Options) (*Node, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Renew <= 0 {
		opts.Renew = DefaultRenew
	}
	if opts.AckWait <= 0 {
		opts.AckWait = DefaultAckWait
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{ID: randomID(), Cache: NewCache(opts.MaxEntries, opts.MaxAge), db: db, cfg: cfg, opts: opts,
		waiters: map[string]*waiter{}, done: make(chan struct{}), metrics: newMetrics()}
	cfg.RuntimeParams["application_name"] = fmt.Sprintf("latchkey-cache %s pid %d", n.ID, os.Getpid())
	cfg.ConnectTimeout = opts.Lease
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.run(ctx)
	return n, nil
}

// ListenerPID is the PostgreSQL backend of the listening connection, 0
// while there is none. In pg_stat_activity its application_name is
// "latchkey-cache <node id> pid <process id>".
func (n *Node) ListenerPID() uint32 { return n.pid.Load() }

// Close stops the node: the cache stops answering and the lease is given
// up, so barriers stop waiting for this node at once.
func (n *Node) Close() error {
	n.cancel()
	<-n.done
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.Lease)
	defer cancel()
	_, err := n.db.ExecContext(ctx, `DELETE FROM cache_leases WHERE node_id = $1`, n.ID)
	return err
}

func (n *Node) run(ctx context.Context) {
	defer close(n.done)
	backoff := 50 * time.Millisecond
	for {
		epoch := n.epoch.Load()
		err := n.listen(ctx)
		n.Cache.Stop()
		if ctx.Err() != nil {
			return
		}
		if n.epoch.Load() != epoch { // the connection got as far as a lease
			backoff = 50 * time.Millisecond
		}
		n.opts.Logger.Warn("auth cache: listening connection lost; credentials are read from the database until it is back",
			"node", n.ID, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listen is the life of one listening connection: LISTEN, then a lease
// renewed every Renew, and every notification handled in the order the
// database committed them. It returns when the connection fails.
func (n *Node) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, n.opts.Lease)
	conn, err := pgx.ConnectConfig(cctx, n.cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	n.pid.Store(conn.PgConn().PID())
	defer n.pid.Store(0)
	for _, q := range []string{"LISTEN " + channel, "LISTEN " + ackChannel(n.ID)} {
		if err := n.exec(ctx, conn, q); err != nil {
			return err
		}
	}
	next := time.Now() // the first lease at once
	for {
		if !time.Now().Before(next) {
			if err := n.renew(ctx, conn); err != nil {
				return err
			}
			next = time.Now().Add(n.opts.Renew)
		}
		wctx, cancel := context.WithDeadline(ctx, next)
		note, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case note != nil:
			if err := n.handle(ctx, conn, note); err != nil {
				return err
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !pgconn.Timeout(err):
			return err
		}
	}
}

// renew extends the lease, or when it is gone (fenced by a barrier, or
// lapsed while this process was paused) starts a new one. A new lease is
// written first and the cache emptied after: a barrier that did not see
// the new lease read the leases before it was written, so after every
// change the barrier covers, and the emptied cache holds nothing older.
func (n *Node) renew(ctx context.Context, conn *pgx.Conn) error {
	ms := n.opts.Lease.Milliseconds()
	if n.Cache.Live() {
		start := time.Now()
		tag, err := n.execTag(ctx, conn, `UPDATE cache_leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
			WHERE node_id = $1 AND epoch = $2 AND NOT fenced AND expires_at > clock_timestamp()`, n.ID, n.epoch.Load(), ms)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			n.Cache.SetLive(start.Add(n.opts.Lease - leaseMargin))
			return nil
		}
		n.Cache.Stop()
		n.opts.Logger.Warn("auth cache: lease fenced or lapsed; starting a new one with an empty cache", "node", n.ID)
	}
	epoch := n.epoch.Add(1)
	start := time.Now()
	err := n.exec(ctx, conn, `INSERT INTO cache_leases (node_id, epoch, expires_at, fenced)
		VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond', FALSE)
		ON CONFLICT (node_id) DO UPDATE SET epoch = EXCLUDED.epoch, expires_at = EXCLUDED.expires_at, fenced = FALSE`, n.ID, epoch, ms)
	if err != nil {
		return err
	}
	n.Cache.Flush()
	n.Cache.SetLive(start.Add(n.opts.Lease - leaseMargin))
	// Leases of nodes long gone.
	return n.exec(ctx, conn, `DELETE FROM cache_leases WHERE expires_at < clock_timestamp() - interval '1 hour'`)
}

// handle acts on one notification: a tag drops entries, a barrier is
// acknowledged to the node that raised it (after every notification
// committed before it, since they arrive in commit order), and an ack
// counts toward this node's barrier.
func (n *Node) handle(ctx context.Context, conn *pgx.Conn, note *pgconn.Notification) error {
	if n.opts.BeforeHandle != nil {
		n.opts.BeforeHandle(note.Payload)
	}
	if note.Channel != channel { // this node's ack channel: "<barrier id> <node id>"
		id, from, _ := strings.Cut(note.Payload, " ")
		n.acked(id, from)
		return nil
	}
	rest, barrier := strings.CutPrefix(note.Payload, "b:")
	if !barrier {
		n.Cache.Invalidate(note.Payload)
		return nil
	}
	origin, id, _ := strings.Cut(rest, ":")
	if origin == n.ID {
		n.acked(id, n.ID)
		return nil
	}
	return n.exec(ctx, conn, `SELECT pg_notify($1, $2)`, ackChannel(origin), id+" "+n.ID)
}

func (n *Node) acked(id, from string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w := n.waiters[id]; w != nil {
		w.acks[from] = true
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

// Sync is the barrier: it returns once every node that may answer from
// its cache has handled every change committed before the call, or has
// lost its lease and with it the right to answer. A node that has not
// acknowledged within AckWait is fenced (it can no longer renew) and
// waited out: at most one lease. The wait is not cut short by ctx's end,
// which the caller cannot tell from a finished barrier.
func (n *Node) Sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*n.opts.Lease+n.opts.AckWait)
	defer cancel()
	defer n.metrics.observe(time.Now())
	id := randomID()
	w := &waiter{acks: map[string]bool{}, signal: make(chan struct{}, 1)}
	n.mu.Lock()
	n.waiters[id] = w
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.waiters, id)
		n.mu.Unlock()
	}()

	pending, err := n.leases(ctx, `SELECT node_id, epoch FROM latchkey_cache_barrier($1)`, "b:"+n.ID+":"+id)
	if err != nil {
		return err
	}
	fenceAt := time.Now().Add(n.opts.AckWait)
	var ends map[string]time.Time // fenced nodes → when their lease ends
	for {
		n.mu.Lock()
		for node := range pending {
			if w.acks[node] {
				delete(pending, node)
			}
		}
		n.mu.Unlock()
		now := time.Now()
		for node, end := range ends {
			if !now.Before(end) {
				delete(pending, node)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if ends == nil && !now.Before(fenceAt) {
			if ends, err = n.fence(ctx, pending); err != nil {
				return err
			}
			continue
		}
		wake := fenceAt
		if ends != nil {
			wake = now.Add(n.opts.Lease)
			for node := range pending {
				if end := ends[node]; end.Before(wake) {
					wake = end
				}
			}
		}
		t := time.NewTimer(wake.Sub(now))
		select {
		case <-w.signal:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// fence stops the renewals of the leases that have not acknowledged and
// returns when each ends; a lease already replaced by a new epoch (whose
// cache was emptied after this barrier's read) or given up is done.
func (n *Node) fence(ctx context.Context, pending map[string]int64) (map[string]time.Time, error) {
	ends := map[string]time.Time{}
	for node, epoch := range pending {
		var left float64
		err := n.db.QueryRowContext(ctx, `UPDATE cache_leases SET fenced = TRUE WHERE node_id = $1 AND epoch = $2
			RETURNING GREATEST(0, EXTRACT(EPOCH FROM expires_at - clock_timestamp()))::float8`, node, epoch).Scan(&left)
		if errors.Is(err, sql.ErrNoRows) {
			delete(pending, node)
			continue
		} else if err != nil {
			return nil, err
		}
		n.metrics.fences.Add(1)
		// Measured from now, after the database computed it: later than
		// the lease's end, never earlier.
		ends[node] = time.Now().Add(time.Duration(left * float64(time.Second)))
		// Its listener goes too: a node that stays paused would otherwise
		// keep PostgreSQL from trimming the notification queue, which
		// fills. The node reconnects, with a new lease, when it can.
		if _, err := n.db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1`,
			"latchkey-cache "+node+" pid %"); err != nil {
			n.opts.Logger.Warn("auth cache: could not disconnect a fenced node's listener", "node", node, "err", err)
		}
		n.opts.Logger.Warn("auth cache: a node did not acknowledge a revocation; fenced, waiting out its lease",
			"node", node, "wait", time.Duration(left*float64(time.Second)).Round(time.Millisecond))
	}
	return ends, nil
}

func (n *Node) leases(ctx context.Context, query string, args ...any) (map[string]int64, error) {
	rows, err := n.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var node string
		var epoch int64
		if err := rows.Scan(&node, &epoch); err != nil {
			return nil, err
		}
		out[node] = epoch
	}
	return out, rows.Err()
}

// exec runs a statement on the listening connection, bounded so that a
// connection that stopped answering is given up before the lease it holds
// would run out.
func (n *Node) exec(ctx context.Context, conn *pgx.Conn, query string, args ...any) error {
	_, err := n.execTag(ctx, conn, query, args...)
	return err
}

func (n *Node) execTag(ctx context.Context, conn *pgx.Conn, query string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Lease/2)
	defer cancel()
	return conn.Exec(ctx, query, args...)
}

func ackChannel(node string) string { return "latchkey_ack_" + node }

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
