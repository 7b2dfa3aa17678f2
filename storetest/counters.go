package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
)

func testAttemptCounters(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	count := func(name string, at time.Time) (int, time.Time) {
		t.Helper()
		n, start, err := st.CountAttempt(c, name, time.Minute, at)
		wantErr(t, "CountAttempt", err, nil)
		return n, start
	}
	for i := 1; i <= 3; i++ {
		if n, start := count("a", base.Add(time.Duration(i)*time.Second)); n != i || !start.Equal(base.Add(time.Second)) {
			t.Fatalf("attempt %d: count %d from %v, want %d from %v", i, n, start, i, base.Add(time.Second))
		}
	}
	if n, _ := count("b", base); n != 1 {
		t.Fatalf("another name shares the count: %d", n)
	}
	wantErr(t, "UncountAttempt", st.UncountAttempt(c, "a"), nil)
	if n, _ := count("a", base.Add(10*time.Second)); n != 3 {
		t.Fatalf("after UncountAttempt the next attempt counts %d, want 3", n)
	}
	// A minute after the window began, it starts over.
	later := base.Add(time.Second + time.Minute)
	if n, start := count("a", later); n != 1 || !start.Equal(later) {
		t.Fatalf("new window: count %d from %v, want 1 from %v", n, start, later)
	}
	wantErr(t, "ResetAttempts", st.ResetAttempts(c, "a"), nil)
	if n, _ := count("a", later); n != 1 {
		t.Fatalf("after ResetAttempts: count %d, want 1", n)
	}
	wantErr(t, "DeleteAttemptCountersBefore", st.DeleteAttemptCountersBefore(c, later), nil)
	if n, _ := count("b", base.Add(2*time.Second)); n != 1 {
		t.Fatalf("swept counter still counted: %d", n)
	}

	// Parallel attempts each get a distinct count: none is lost.
	const parallel = 40
	seen := make([]bool, parallel+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			n, _, err := st.CountAttempt(c, "p", time.Hour, base)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if n < 1 || n > parallel || seen[n] {
				t.Errorf("count %d seen twice or out of range", n)
				return
			}
			seen[n] = true
		})
	}
	wg.Wait()
}
