package latchkey_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// The access-token check remembers verified signatures; these tests pin
// down that the memory never outlives a revocation nor vouches for a
// token that differs from the verified one.
func TestVerifiedTokenCacheKeepsRevocationImmediate(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		reg := env.Client(t).Register("cache@example.com", "correct horse battery")
		access := reg.Str("access_token")
		bearer := env.Client(t)
		bearer.Bearer = access
		for range 2 { // the second check is answered from the cache
			if r := bearer.Get("auth.me"); r.Status != http.StatusOK {
				t.Fatalf("auth.me: %d %s", r.Status, r.Body)
			}
		}
		// A token that differs in one signature character (not the last,
		// whose low bits are padding) is another token: the cache must not
		// vouch for it.
		i := len(access) - 10
		swap := byte('A')
		if access[i] == 'A' {
			swap = 'B'
		}
		forged := access[:i] + string(swap) + access[i+1:]
		bad := env.Client(t)
		bad.Bearer = forged
		if r := bad.Get("auth.me"); r.Status != http.StatusUnauthorized {
			t.Fatalf("forged token: %d %s", r.Status, r.Body)
		}
		if r := bearer.Call("auth.logout", map[string]any{}); r.Status != http.StatusOK {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		if r := bearer.Get("auth.me"); r.Status != http.StatusUnauthorized || r.Code() != "invalid_token" {
			t.Fatalf("revoked session's cached token: %d %s", r.Status, r.Body)
		}
	})
}
