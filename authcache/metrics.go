package authcache

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of a Node's barriers.
type metrics struct {
	barrier prometheus.Histogram
	fences  atomic.Uint64
}

func newMetrics() *metrics {
	return &metrics{barrier: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "latchkey_auth_cache_barrier_seconds",
		Help:    "How long writes to cached rows waited for every node's acknowledgement or lapse.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})}
}

func (m *metrics) observe(began time.Time) { m.barrier.Observe(time.Since(began).Seconds()) }

// Collectors are the node's series for /metrics: lookups by outcome (hit,
// miss, or off while the node holds no lease), whether it holds one, the
// barriers' durations and the nodes they fenced.
func (n *Node) Collectors() []prometheus.Collector {
	c := n.Cache
	lookups := func(result string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "latchkey_auth_cache_lookups_total", Help: "Credential lookups in this node's cache, by result.",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		lookups("hit", &c.hits), lookups("miss", &c.misses), lookups("off", &c.off),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latchkey_auth_cache_live", Help: "1 while this node holds a lease and may answer from its cache.",
		}, func() float64 {
			if c.Live() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "latchkey_auth_cache_fences_total", Help: "Nodes a barrier fenced for not acknowledging within the ack wait.",
		}, func() float64 { return float64(n.metrics.fences.Load()) }),
		n.metrics.barrier,
	}
}
