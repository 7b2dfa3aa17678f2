package sqlstore

import (
	"context"
	"time"
)

// CountAttempt adds one attempt to name's window in a single statement, so
// concurrent attempts on any node each see a distinct count. A window
// older than window starts over at now.
func (s *Store) CountAttempt(ctx context.Context, name string, window time.Duration, now time.Time) (int, time.Time, error) {
	var n int
	var start int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO attempt_counters (name, window_start, count) VALUES ($1, $2, 1)
		ON CONFLICT (name) DO UPDATE SET
			count = CASE WHEN attempt_counters.window_start <= $3 THEN 1 ELSE attempt_counters.count + 1 END,
			window_start = CASE WHEN attempt_counters.window_start <= $3 THEN $2 ELSE attempt_counters.window_start END
		RETURNING count, window_start`, name, ts(now), ts(now.Add(-window))).Scan(&n, &start)
	if err != nil {
		return 0, time.Time{}, translate(err)
	}
	return n, fromTS(start), nil
}

// UncountAttempt takes one attempt back from name's current window.
func (s *Store) UncountAttempt(ctx context.Context, name string) error {
	return s.exec(ctx, `UPDATE attempt_counters SET count = count - 1 WHERE name = $1 AND count > 0`, name)
}

// ResetAttempts forgets name's count.
func (s *Store) ResetAttempts(ctx context.Context, name string) error {
	return s.exec(ctx, `DELETE FROM attempt_counters WHERE name = $1`, name)
}

// DeleteAttemptCountersBefore drops counters whose window started before t.
func (s *Store) DeleteAttemptCountersBefore(ctx context.Context, t time.Time) error {
	return s.exec(ctx, `DELETE FROM attempt_counters WHERE window_start < $1`, ts(t))
}
