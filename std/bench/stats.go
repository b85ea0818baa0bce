package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the q-quantile (q in [0, 1]) of xs by linear
// interpolation between the closest ranks (the "type 7" estimator of R
// and NumPy), or NaN for no samples. xs is not modified.
func Percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q = min(max(q, 0), 1)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Median is Percentile(xs, 0.5).
func Median(xs []float64) float64 { return Percentile(xs, 0.5) }

// Ratio is b/a, and false when either is missing (NaN) or a is zero.
func Ratio(b, a float64) (float64, bool) {
	if a == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0, false
	}
	return b / a, true
}

// RTT summarises round-trip samples in milliseconds.
type RTT struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// SummarizeRTT computes an RTT summary of samples.
func SummarizeRTT(samples []time.Duration) RTT {
	ms := make([]float64, len(samples))
	for i, d := range samples {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	r := RTT{Count: len(ms)}
	if len(ms) > 0 {
		r.P50, r.P90, r.P99 = Percentile(ms, 0.5), Percentile(ms, 0.9), Percentile(ms, 0.99)
		r.Max = slices.Max(ms)
	}
	return r
}
