package loadtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Run prepares and runs one scenario. A scenario the server cannot run
// yet comes back with Unavailable set, not as an error; an error means
// the preparation itself failed.
func (b *Bench) Run(ctx context.Context, name string) (Result, error) {
	p, err := b.Prepare(ctx, name)
	if errors.Is(err, errUnavailable) {
		return Result{Scenario: name, Connections: b.cfg.Connections, Unavailable: strings.TrimPrefix(err.Error(), errUnavailable.Error()+": ")}, nil
	} else if err != nil {
		return Result{}, err
	}
	return p.Run(ctx), nil
}

// worker is one connection's loop and tally.
type worker struct {
	hist     histogram
	errors   int64
	firstErr error
}

// Run drives the plan's workers until Duration has passed; requests under
// way at the deadline finish and count. It stops early only when ctx is
// cancelled.
func (p *Plan) Run(ctx context.Context) Result {
	cfg := p.b.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+time.Minute)
	defer cancel()
	if p.b.Service != nil {
		// In-process, collect the preparation's garbage (sign-ins allocate
		// 19 MiB each) before the clock starts, as testing.B does.
		runtime.GC()
	}
	// hash runs here, not in the server: against an external server its
	// CPU and memory are this process's.
	pid := p.b.pid
	if p.Scenario == Hash {
		pid = os.Getpid()
	}
	rss := sampleRSS(pid, 100*time.Millisecond)
	cpu0, cpuOK := readCPU(pid)
	workers := make([]worker, len(p.ops))
	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i, o := range p.ops {
		w := &workers[i]
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				if err := o(ctx); err != nil {
					if ctx.Err() != nil {
						return
					}
					w.errors++
					if w.firstErr == nil {
						w.firstErr = err
					}
					continue
				}
				w.hist.add(time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := Result{Scenario: p.Scenario, Connections: len(p.ops), Elapsed: elapsed, PeakRSS: rss.Stop()}
	if cpu1, ok := readCPU(pid); ok && cpuOK {
		res.CPU = cpu1 - cpu0
	}
	var all histogram
	for i := range workers {
		w := &workers[i]
		all.merge(&w.hist)
		res.Errors += w.errors
		if res.FirstError == "" && w.firstErr != nil {
			res.FirstError = w.firstErr.Error()
		}
	}
	if ctx.Err() != nil && res.FirstError == "" {
		res.FirstError = fmt.Sprintf("run cut short: %v", ctx.Err())
		res.Errors++
	}
	res.Requests = all.n
	res.RPS = float64(all.n) / elapsed.Seconds()
	res.P50, res.P90, res.P99 = all.percentile(0.50), all.percentile(0.90), all.percentile(0.99)
	return res
}
