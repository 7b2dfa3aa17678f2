package webhook

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Queue is the outbox as the worker sees it; the domain implements it
// (latchkey.Service.WebhookQueue).
type Queue interface {
	// Claim takes up to max due deliveries for this worker alone: no other
	// worker, on this node or another, gets them until Finish or until the
	// claim lapses, well after an attempt's timeout.
	Claim(ctx context.Context, max int) ([]Message, error)
	// Finish records an attempt's outcome and schedules the next one.
	Finish(ctx context.Context, m Message, r Result) error
	// Depth counts the deliveries waiting to be sent.
	Depth(ctx context.Context) (int, error)
}

// Worker sends what the queue has due, until its context ends.
type Worker struct {
	Queue  Queue
	Client *http.Client // nil: NewClient()
	Logger *slog.Logger
	Clock  func() time.Time // nil: time.Now; stamps webhook-timestamp
	// Poll is how long an idle worker waits before asking again; a full
	// batch is followed by the next at once.
	Poll time.Duration // zero: 500 ms
	// Batch is how many deliveries one claim takes, and so how many
	// attempts run at once.
	Batch int // zero: 16

	once     sync.Once
	outcomes *prometheus.CounterVec
	latency  prometheus.Histogram
	depth    prometheus.Collector
}

func (w *Worker) init() {
	w.once.Do(func() {
		if w.Client == nil {
			w.Client = NewClient()
		}
		if w.Logger == nil {
			w.Logger = slog.Default()
		}
		if w.Clock == nil {
			w.Clock = time.Now
		}
		if w.Poll == 0 {
			w.Poll = 500 * time.Millisecond
		}
		if w.Batch == 0 {
			w.Batch = 16
		}
		w.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_webhook_deliveries_total", Help: "Webhook delivery attempts, by outcome (delivered, failed).",
		}, []string{"outcome"})
		w.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "latchkey_webhook_delivery_duration_seconds", Help: "Time from the request to the endpoint's answer.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		})
		w.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latchkey_webhook_queue_depth", Help: "Webhook deliveries waiting to be sent.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := w.Queue.Depth(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		})
	})
}

// Collectors are the worker's Prometheus series, for the server's
// registry.
func (w *Worker) Collectors() []prometheus.Collector {
	w.init()
	return []prometheus.Collector{w.outcomes, w.latency, w.depth}
}

// Run delivers until ctx ends. A claim that fails (the database is down)
// is retried at the next poll; attempts in flight when ctx ends are left
// to lapse and be claimed again, which the receiver sees as a retry of
// the same webhook-id.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := w.round(ctx)
		wait := w.Poll
		if n == w.Batch {
			wait = 0
		}
		t.Reset(wait)
	}
}

// round claims one batch and sends it; it returns how many it claimed.
// Each message of a batch is for a different (endpoint, subject), as the
// queue holds back a subject's later events, so they go out at once.
func (w *Worker) round(ctx context.Context) int {
	batch, err := w.Queue.Claim(ctx, w.Batch)
	if err != nil {
		if ctx.Err() == nil {
			w.Logger.WarnContext(ctx, "webhook claim failed", "err", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, m := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliver(ctx, m)
		}()
	}
	wg.Wait()
	return len(batch)
}

func (w *Worker) deliver(ctx context.Context, m Message) {
	r := Send(ctx, w.Client, m, w.Clock())
	if ctx.Err() != nil {
		return // shutting down: the claim lapses and the attempt is made again
	}
	w.latency.Observe(r.Duration.Seconds())
	outcome := "failed"
	if r.Delivered {
		outcome = "delivered"
	}
	w.outcomes.WithLabelValues(outcome).Inc()
	// The outcome must be recorded even while the service shuts down.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.Queue.Finish(fctx, m, r); err != nil {
		w.Logger.WarnContext(ctx, "webhook outcome not recorded; the attempt will be made again", "delivery", m.Delivery, "err", err)
	}
	if !r.Delivered {
		w.Logger.InfoContext(ctx, "webhook attempt failed", "event", m.EventID, "type", m.Type, "attempt", m.Attempt, "status", r.Status, "error", r.Error)
	}
}
