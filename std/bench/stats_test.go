package bench

import (
	"math"
	"testing"
	"time"
)

func TestPercentileInterpolatesBetweenRanks(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[len(xs)-1-i] = float64(i + 1) // 100 … 1: Percentile must sort
	}
	for _, c := range []struct{ q, want float64 }{
		{0, 1}, {0.5, 50.5}, {0.9, 90.1}, {0.99, 99.01}, {1, 100},
	} {
		if got := Percentile(xs, c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Percentile(1..100, %v) = %v, want %v", c.q, got, c.want)
		}
	}
	if xs[0] != 100 {
		t.Errorf("Percentile reordered its input: xs[0] = %v", xs[0])
	}
}

func TestMedianOddEvenSingleEmpty(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

func TestRatioRefusesMissingOrZeroReference(t *testing.T) {
	if q, ok := Ratio(30, 20); !ok || q != 1.5 {
		t.Errorf("Ratio(30, 20) = %v, %v; want 1.5, true", q, ok)
	}
	for _, c := range [][2]float64{{1, 0}, {1, math.NaN()}, {math.NaN(), 1}} {
		if _, ok := Ratio(c[0], c[1]); ok {
			t.Errorf("Ratio(%v, %v) ok, want not ok", c[0], c[1])
		}
	}
}

func TestSummarizeRTTInMilliseconds(t *testing.T) {
	var samples []time.Duration
	for i := 1; i <= 100; i++ {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	r := SummarizeRTT(samples)
	if r.Count != 100 || r.P50 != 50.5 || math.Abs(r.P90-90.1) > 1e-9 || math.Abs(r.P99-99.01) > 1e-9 || r.Max != 100 {
		t.Errorf("SummarizeRTT(1..100 ms) = %+v", r)
	}
	if r := SummarizeRTT(nil); r.Count != 0 || r.P50 != 0 {
		t.Errorf("SummarizeRTT(nil) = %+v, want zero", r)
	}
}
