// Package authcache keeps the rows behind the per-request credential
// checks (a session or an API key, with its user, org and role) in memory
// on each server node, and keeps those copies honest across nodes on
// PostgreSQL with LISTEN/NOTIFY and leases: a node answers from memory
// only while its lease is live, and a revocation returns only once every
// node with a live lease has dropped what it changed or lost its lease.
// docs/architecture.md ("Revocation cache") has the protocol and why each
// failure keeps the guarantee.
package authcache

import (
	"sync"
	"sync/atomic"
	"time"
)

// Cache is a node's memory of credential rows. Each entry carries tags
// (the ids of the rows it was read from); invalidating a tag drops every
// entry that carries it.
type Cache struct {
	mu      sync.RWMutex
	entries map[string]entry
	byTag   map[string]map[string]struct{} // tag → keys of the entries that carry it
	gen     uint64                         // bumped by every invalidation
	max     int
	maxAge  time.Duration

	// live is until when (nanoseconds after base, on the monotonic clock)
	// the cache may answer; zero when it may not.
	live atomic.Int64
	base time.Time

	// Lookups by outcome, for /metrics.
	hits, misses, off atomic.Uint64
}

type entry struct {
	val  any
	tags []string
	at   time.Duration // when it was stored, after base
}

// NewCache returns an empty cache that holds at most max entries, each
// for at most maxAge, and does not answer until SetLive. The age limit is
// for the one change that is not announced (a refresh moving a session's
// expiry later, migration 0016): a copy holding the earlier expiry is
// read again within maxAge.
func NewCache(max int, maxAge time.Duration) *Cache {
	return &Cache{entries: map[string]entry{}, byTag: map[string]map[string]struct{}{}, max: max, maxAge: maxAge, base: time.Now()}
}

// Live reports whether the cache may answer now.
func (c *Cache) Live() bool { return time.Since(c.base) < time.Duration(c.live.Load()) }

// SetLive lets the cache answer until until.
func (c *Cache) SetLive(until time.Time) { c.live.Store(int64(until.Sub(c.base))) }

// Stop makes the cache refuse to answer until the next SetLive.
func (c *Cache) Stop() { c.live.Store(0) }

// Get returns the value stored under key, if the cache may answer.
func (c *Cache) Get(key string) (any, bool) {
	now := time.Since(c.base)
	if now >= time.Duration(c.live.Load()) {
		c.off.Add(1)
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	ok = ok && now-e.at < c.maxAge
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return e.val, ok
}

// Gen is taken before reading a row from the database and handed to Put,
// which keeps the value only if nothing was invalidated in between: a row
// read before a change committed must not be stored after that change's
// invalidation has run.
func (c *Cache) Gen() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Put stores val under key with its tags, unless an invalidation ran since
// gen was taken or the cache may not answer.
func (c *Cache) Put(gen uint64, key string, val any, tags ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || !c.Live() {
		return
	}
	c.remove(key)
	if len(c.entries) >= c.max {
		for k := range c.entries { // an arbitrary entry: map order
			c.remove(k)
			break
		}
	}
	c.entries[key] = entry{val: val, tags: tags, at: time.Since(c.base)}
	for _, t := range tags {
		keys := c.byTag[t]
		if keys == nil {
			keys = map[string]struct{}{}
			c.byTag[t] = keys
		}
		keys[key] = struct{}{}
	}
}

// Invalidate drops every entry that carries tag.
func (c *Cache) Invalidate(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.byTag[tag] {
		c.remove(k)
	}
}

// Flush drops every entry.
func (c *Cache) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]entry{}
	c.byTag = map[string]map[string]struct{}{}
}

// Len is the number of entries.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

func (c *Cache) remove(key string) {
	e, ok := c.entries[key]
	if !ok {
		return
	}
	delete(c.entries, key)
	for _, t := range e.tags {
		if keys := c.byTag[t]; keys != nil {
			delete(keys, key)
			if len(keys) == 0 {
				delete(c.byTag, t)
			}
		}
	}
}
