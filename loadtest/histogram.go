package loadtest

import (
	"math/bits"
	"time"
)

// histogram counts latencies in log-linear buckets: 32 sub-buckets per
// power of two, so a percentile is within about 3% of the true value, in
// fixed memory however long the run.
type histogram struct {
	counts [64 * subBuckets]int64
	n      int64
}

const subBits = 5
const subBuckets = 1 << subBits

func bucketOf(ns int64) int {
	if ns < subBuckets {
		return int(max(ns, 0))
	}
	exp := bits.Len64(uint64(ns)) - subBits // >= 1
	sub := int(ns>>(exp-1)) & (subBuckets - 1)
	return exp*subBuckets + sub
}

// lowerBound is the smallest value of bucket i.
func lowerBound(i int) int64 {
	exp, sub := i/subBuckets, int64(i%subBuckets)
	if exp == 0 {
		return sub
	}
	return (subBuckets + sub) << (exp - 1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// percentile returns the value below which a fraction q of samples fall,
// as the midpoint of its bucket.
func (h *histogram) percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n-1)) + 1
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := lowerBound(i), lowerBound(i+1)
			return time.Duration((lo + hi) / 2)
		}
	}
	return 0
}
