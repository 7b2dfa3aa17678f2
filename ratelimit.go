package latchkey

import (
	"context"
	"sync"
	"time"
)

// Request-rate limits on credential-guessing paths (contract §10): each is
// a fixed-window count per key kept in the database (attempt_counters),
// bumped by one atomic statement per attempt (Store.CountAttempt), so N
// nodes together allow what one node allows and parallel requests cannot
// slip past the limit. A node remembers the keys it has seen over their
// limit until their window ends, only to refuse those early without a
// database write; it never allows on its own.

// A rule allows max attempts per window.
type rule struct {
	max    int
	window time.Duration
}

// Request-rate rules for credential-guessing paths.
var (
	ruleLoginIP      = rule{20, time.Minute}     // sign-ins (password, passkey, SSO start) per client IP
	ruleLoginAccount = rule{10, 5 * time.Minute} // password guesses per email address
	ruleSignupIP     = rule{10, 2 * time.Minute}
	ruleCodeIP       = rule{20, time.Minute} // codes, tokens, exchanges by IP
	ruleCLIAuthorize = rule{20, 10 * time.Minute}
	ruleDomainVerify = rule{30, 10 * time.Minute} // DNS lookups an org may trigger
)

// maxBlocked bounds a node's memory of refused keys; beyond it refusals
// still hold (the database counts), they only cost their write.
const maxBlocked = 100_000

// limiter is the per-node memory of keys over their limit.
type limiter struct {
	mu      sync.Mutex
	blocked map[string]time.Time // key → end of the window that refused it
	swept   time.Time
}

func newLimiter() *limiter { return &limiter{blocked: map[string]time.Time{}} }

// refusing reports how long key is still known to be over its limit.
func (l *limiter) refusing(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, until := range l.blocked {
			if !until.After(now) {
				delete(l.blocked, k)
			}
		}
		l.swept = now
	}
	if until, ok := l.blocked[key]; ok && until.After(now) {
		return until.Sub(now)
	}
	return 0
}

func (l *limiter) block(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.blocked) < maxBlocked {
		l.blocked[key] = until
	}
}

// rateLimit counts one attempt on key and returns rate_limited (with
// Retry-After) once key has made more than r allows in its window. It
// does nothing when the deployment turned request-rate limits off. Call
// it before the attempt's work and outside any Tx, so failed attempts
// count.
func (s *Service) rateLimit(ctx context.Context, key string, r rule) error {
	if !s.Config.RateLimits {
		return nil
	}
	now := s.now()
	if wait := s.limits.refusing(key, now); wait > 0 {
		return rateLimited(wait)
	}
	n, start, err := s.Store.CountAttempt(ctx, "rl:"+key, r.window, now)
	if err != nil {
		return err
	}
	if n <= r.max {
		return nil
	}
	end := start.Add(r.window)
	s.limits.block(key, end)
	return rateLimited(end.Sub(now))
}

func rateLimited(wait time.Duration) error {
	e := Errorf(CodeRateLimited, "Too many attempts. Try again later.")
	e.RetryAfter = max(wait, time.Second)
	return e
}
