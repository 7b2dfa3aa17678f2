package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Challenge is one pending one-time secret or ceremony: an email code, a
// reset or invitation token, an OAuth state, a WebAuthn challenge. Only the
// secret's hash is stored; the row dies on use or expiry.
type Challenge struct {
	ID         string
	Kind       string
	UserID     string // empty when no user exists yet
	Email      string
	SecretHash string
	Payload    json.RawMessage // kind-specific data; never a secret in clear
	Attempts   int
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// issueToken stores a challenge of kind whose secret is a fresh 256-bit
// token, and returns the token, which the caller hands out exactly once.
func (s *Service) issueToken(ctx context.Context, st Store, c Challenge, ttl time.Duration) (string, error) {
	token := secret.Token("")
	now := s.now()
	c.ID = secret.ID("chl_")
	c.SecretHash = secret.Hash(token)
	c.CreatedAt = now
	c.ExpiresAt = now.Add(ttl)
	if c.Payload == nil {
		c.Payload = json.RawMessage("{}")
	}
	if err := st.CreateChallenge(ctx, c); err != nil {
		return "", err
	}
	s.sweepChallenges(ctx)
	return token, nil
}

// Challenges that are never redeemed (a sign-in begun and abandoned) would
// stay forever, and anonymous callers can start them: once a minute per
// node, a background sweep deletes those dead for an hour. The hour keeps
// expired email codes, which still count toward the hourly send limit.
const (
	sweepEvery = time.Minute
	sweepAfter = time.Hour
)

// sweepChallenges starts the sweep when the last one is a minute old. It
// runs in the background, on its own connection: the caller may hold a
// transaction.
func (s *Service) sweepChallenges(ctx context.Context) {
	now := s.now()
	last := s.swept.Load()
	if now.UnixMicro()-last < sweepEvery.Microseconds() || !s.swept.CompareAndSwap(last, now.UnixMicro()) {
		return
	}
	s.bg.run(ctx, func(ctx context.Context) {
		if err := s.Store.DeleteChallengesExpiredBefore(ctx, now.Add(-sweepAfter)); err != nil {
			s.Logger.WarnContext(ctx, "sweep of expired challenges failed", "err", err)
		}
		if err := s.Store.DeleteUnconfirmedMFAFactors(ctx, "", now.Add(-totpEnrollTTL)); err != nil {
			s.Logger.WarnContext(ctx, "sweep of unconfirmed MFA factors failed", "err", err)
		}
		// No limit's window is longer than a day.
		if err := s.Store.DeleteAttemptCountersBefore(ctx, now.Add(-24*time.Hour)); err != nil {
			s.Logger.WarnContext(ctx, "sweep of attempt counters failed", "err", err)
		}
	})
}

// redeemToken finds the live challenge of kind for token and deletes it, so
// a token works once. Unknown, expired and used tokens all fail alike with
// invalid.
func (s *Service) redeemToken(ctx context.Context, st Store, kind, token string, invalid error) (Challenge, error) {
	if token == "" || len(token) > 256 {
		return Challenge{}, invalid
	}
	c, err := st.ChallengeBySecret(ctx, kind, secret.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return Challenge{}, invalid
	} else if err != nil {
		return Challenge{}, err
	}
	if err := st.DeleteChallenge(ctx, c.ID); errors.Is(err, ErrNotFound) {
		return Challenge{}, invalid // a concurrent request redeemed it first
	} else if err != nil {
		return Challenge{}, err
	}
	if !s.now().Before(c.ExpiresAt) {
		return Challenge{}, invalid
	}
	return c, nil
}
