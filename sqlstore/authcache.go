package sqlstore

import (
	"context"
	"database/sql"
	"regexp"
	"sync"

	"github.com/latchkey/latchkey/authcache"
)

// StartAuthCache makes this process a node of the revocation cache
// (authcache, docs/architecture.md): on PostgreSQL the per-request reads
// of sessions and API keys are answered from memory while the node's lease
// is live, and every write to a row they are built from returns only once
// every node has dropped it. SQLite keeps no cache: its reads are
// in-process index lookups already, and it serves one node. Close stops
// the node.
func (db *DB) StartAuthCache(opts authcache.Options) error {
	if db.Dialect != Postgres || db.cache != nil {
		return nil
	}
	n, err := authcache.Start(db.dsn, db.write, opts)
	if err != nil {
		return err
	}
	db.cache = n
	return nil
}

// AuthCache is the node StartAuthCache started, or nil.
func (db *DB) AuthCache() *authcache.Node { return db.cache }

// authWrite matches the statements that fire the triggers of migration
// 0016: updates and deletes of the rows an AuthContext is built from, and
// new memberships (a key creator's role).
var authWrite = regexp.MustCompile(`(?is)\b(?:(?:UPDATE|DELETE\s+FROM)\s+(?:sessions|users|orgs|memberships|mfa_factors|api_keys)|INSERT\s+INTO\s+memberships)\b`)

var authWrites sync.Map // query → bool

func changesAuth(query string) bool {
	if v, ok := authWrites.Load(query); ok {
		return v.(bool)
	}
	m := authWrite.MatchString(query)
	authWrites.Store(query, m)
	return m
}

// write runs a write statement. One that changes a row the auth cache
// holds is followed by the barrier (authcache.Node.Sync): at once, or
// inside a transaction once it commits. So every flow that revokes or
// changes what a credential grants (logout, password change, disabling,
// a role, an org switch, a key's deletion, MFA) is seen by every node
// when it returns, without a flow having to ask.
func (s *Store) write(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil || s.db.cache == nil || !changesAuth(query) {
		return res, err
	}
	if s.inTx {
		*s.changedAuth = true
		return res, nil
	}
	return res, s.db.cache.Sync(ctx)
}

// throughCache is a hot read through the node's cache: the entry under
// key, or read's result stored with the ids of the rows it came from
// (tags, as the triggers name them). Inside a transaction, which must see
// its own writes, and without a cache, it is read alone.
func throughCache[T any](s *Store, key string, read func() (T, error), tags func(T) []string) (T, error) {
	if s.db.cache == nil || s.inTx {
		return read()
	}
	c := s.db.cache.Cache
	if v, ok := c.Get(key); ok {
		return v.(T), nil
	}
	gen := c.Gen()
	v, err := read()
	if err == nil {
		c.Put(gen, key, v, tags(v)...)
	}
	return v, err
}
