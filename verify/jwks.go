package verify

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet caches the server's JWKS. A kid it does not know makes it fetch
// the set again, at most once per RefetchEvery (key rollover: a node signs
// with a new key that was published after the last fetch); the whole set
// is also fetched again after CacheFor, so retired keys drop out.
type keySet struct {
	cfg       *Config
	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last fetch, successful or not
	unknownAt time.Time // last fetch made for an unknown kid
}

func (k *keySet) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if kid == "" {
		return nil, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	// The lock is held through a fetch, so concurrent requests share one.
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.cfg.Now()
	pub, known := k.keys[kid]
	since := func(t time.Time) bool { return t.IsZero() || now.Sub(t) >= k.cfg.RefetchEvery }
	switch {
	case known && now.Sub(k.fetchedAt) < k.cfg.CacheFor:
		return pub, nil
	case known:
		// Stale set: refresh it, no more often than RefetchEvery while the
		// server fails (the keys we had stay in use meanwhile).
		if since(k.triedAt) {
			k.refresh(ctx, now)
		}
	case k.keys == nil:
		// The first fetch, retried no more often than RefetchEvery.
		if !since(k.triedAt) {
			return nil, fmt.Errorf("verify: no JWKS yet (retrying every %s)", k.cfg.RefetchEvery)
		}
		if err := k.refresh(ctx, now); err != nil {
			return nil, err
		}
	case since(k.unknownAt):
		// Unknown kid: a key published since the last fetch (rollover),
		// or a forgery; at most one such fetch per RefetchEvery.
		k.unknownAt = now
		k.refresh(ctx, now) // on failure the keys we had stay
	}
	if pub, ok := k.keys[kid]; ok {
		return pub, nil
	}
	return nil, fmt.Errorf("%w: unknown kid %q", ErrInvalidToken, kid)
}

func (k *keySet) refresh(ctx context.Context, now time.Time) error {
	k.triedAt = now
	keys, err := k.fetch(ctx)
	if err != nil {
		return err
	}
	k.keys, k.fetchedAt = keys, now
	return nil
}

// fetch reads the JWKS and keeps its Ed25519 signing keys.
func (k *keySet) fetch(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: fetch JWKS: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verify: fetch JWKS: %s", res.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("verify: JWKS: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, jwk := range set.Keys {
		if pub, ok := jwk.Key.(ed25519.PublicKey); ok && jwk.KeyID != "" && (jwk.Use == "" || jwk.Use == "sig") {
			keys[jwk.KeyID] = pub
		}
	}
	return keys, nil
}
