package authcache_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/authcache"
)

func TestCache(t *testing.T) {
	c := authcache.NewCache(2, time.Minute)
	c.Put(c.Gen(), "s:1", "one", "s:1", "u:a")
	if _, ok := c.Get("s:1"); ok || c.Len() != 0 {
		t.Fatal("a cache that may not answer stored or answered")
	}
	c.SetLive(time.Now().Add(time.Minute))
	c.Put(c.Gen(), "s:1", "one", "s:1", "u:a")
	c.Put(c.Gen(), "s:2", "two", "s:2", "u:b")
	if v, ok := c.Get("s:1"); !ok || v != "one" {
		t.Fatalf("Get(s:1) = %v, %v", v, ok)
	}

	// A read that began before an invalidation is not stored after it,
	// whichever tag the invalidation named.
	gen := c.Gen()
	c.Invalidate("u:nobody")
	c.Put(gen, "s:3", "three", "s:3")
	if _, ok := c.Get("s:3"); ok {
		t.Fatal("a value read before an invalidation was stored after it")
	}

	c.Invalidate("u:a")
	if _, ok := c.Get("s:1"); ok {
		t.Fatal("s:1 survived the invalidation of its user")
	}
	if _, ok := c.Get("s:2"); !ok {
		t.Fatal("s:2 was dropped by another user's invalidation")
	}

	// At most two entries.
	c.Put(c.Gen(), "s:4", "four", "s:4")
	c.Put(c.Gen(), "s:5", "five", "s:5")
	if n := c.Len(); n != 2 {
		t.Fatalf("Len = %d, want the maximum, 2", n)
	}
	if _, ok := c.Get("s:5"); !ok {
		t.Fatal("the newest entry was evicted")
	}

	c.Stop()
	if _, ok := c.Get("s:5"); ok {
		t.Fatal("a stopped cache answered")
	}
	c.SetLive(time.Now().Add(time.Minute))
	c.Flush()
	if c.Len() != 0 {
		t.Fatalf("Len after Flush = %d", c.Len())
	}
	c.SetLive(time.Now().Add(-time.Second))
	c.Put(c.Gen(), "s:6", "six", "s:6")
	if c.Len() != 0 {
		t.Fatal("a cache whose lease ended stored a value")
	}
}
