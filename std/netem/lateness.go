package netem

import (
	"math"
	"time"
)

// Lateness summarises how much later than scheduled a link delivered its
// packets. The percentiles come from a histogram with 1 µs buckets up to
// 1 ms and 10 µs buckets up to 20 ms; beyond that they report Max.
type Lateness struct {
	Count uint64        // packets delivered
	Mean  time.Duration // mean lateness
	P50   time.Duration // median lateness (bucket upper edge)
	P99   time.Duration // 99th percentile (bucket upper edge)
	Max   time.Duration // worst lateness seen
}

const (
	fineBuckets   = 1000 // 1 µs each, [0, 1 ms)
	coarseBuckets = 1900 // 10 µs each, [1 ms, 20 ms)
)

// latencyHist accumulates lateness samples; not safe for concurrent use.
type latencyHist struct {
	buckets [fineBuckets + coarseBuckets + 1]uint64 // the last one is overflow
	count   uint64
	sum     time.Duration
	max     time.Duration
}

func bucketOf(d time.Duration) int {
	us := int64(d / time.Microsecond)
	switch {
	case us < 0:
		return 0
	case us < fineBuckets:
		return int(us)
	case us < fineBuckets+coarseBuckets*10:
		return fineBuckets + int((us-fineBuckets)/10)
	default:
		return fineBuckets + coarseBuckets
	}
}

// bucketUpper is the exclusive upper edge of bucket i.
func bucketUpper(i int) time.Duration {
	if i < fineBuckets {
		return time.Duration(i+1) * time.Microsecond
	}
	return time.Duration(fineBuckets+(i-fineBuckets+1)*10) * time.Microsecond
}

func (h *latencyHist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[bucketOf(d)]++
	h.count++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *latencyHist) percentile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	// Nearest rank: the smallest sample with at least q of them at or below it.
	rank := uint64(max(math.Ceil(q*float64(h.count)), 1)) - 1
	rank = min(rank, h.count-1)
	var seen uint64
	for i, n := range h.buckets {
		seen += n
		if seen > rank {
			if i == len(h.buckets)-1 {
				return h.max
			}
			return min(bucketUpper(i), h.max)
		}
	}
	return h.max
}

func (h *latencyHist) summary() Lateness {
	l := Lateness{Count: h.count, Max: h.max}
	if h.count > 0 {
		l.Mean = h.sum / time.Duration(h.count)
		l.P50 = h.percentile(0.50)
		l.P99 = h.percentile(0.99)
	}
	return l
}
