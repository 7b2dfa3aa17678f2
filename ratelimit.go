package latchkey

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter keeps token buckets per key in memory. Each node limits on its
// own; behind N nodes a guesser gets at most N times the budget, which
// still bounds guessing while keeping the hot path free of a database write.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*bucket{}} }

// A rule is a refill rate and a burst.
type rule struct {
	every time.Duration
	burst int
}

// Request-rate rules for credential-guessing paths.
var (
	ruleLoginIP      = rule{3 * time.Second, 20}  // 20 at once, then one per 3 s
	ruleLoginAccount = rule{30 * time.Second, 10} // per email address
	ruleSignupIP     = rule{10 * time.Second, 10}
	ruleCodeIP       = rule{3 * time.Second, 20} // codes, tokens, exchanges by IP
)

// allow spends one token of key's bucket, or says how long to wait.
func (l *limiter) allow(key string, r rule, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Every(r.every), r.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateLimit returns rate_limited when key has used its budget under r. It
// does nothing when the deployment turned request-rate limits off.
func (s *Service) rateLimit(key string, r rule) error {
	if !s.Config.RateLimits {
		return nil
	}
	if ok, wait := s.limits.allow(key, r, s.now()); !ok {
		e := Errorf(CodeRateLimited, "Too many attempts. Try again later.")
		e.RetryAfter = wait
		return e
	}
	return nil
}
