package netem

import (
	"testing"
	"time"
)

func TestLatenessSummary(t *testing.T) {
	var h latencyHist
	if s := h.summary(); s != (Lateness{}) {
		t.Errorf("empty summary %+v", s)
	}
	// 98 samples at 10 µs, one at 3 ms, one at 50 ms (beyond the histogram).
	for range 98 {
		h.record(10 * time.Microsecond)
	}
	h.record(3 * time.Millisecond)
	h.record(50 * time.Millisecond)
	s := h.summary()
	if s.Count != 100 || s.Max != 50*time.Millisecond {
		t.Errorf("count %d max %v, want 100 and 50ms", s.Count, s.Max)
	}
	if s.P50 != 11*time.Microsecond {
		t.Errorf("p50 %v, want the upper edge of the 10µs bucket, 11µs", s.P50)
	}
	if s.P99 < 3*time.Millisecond || s.P99 > 3010*time.Microsecond {
		t.Errorf("p99 %v, want the 3ms bucket", s.P99)
	}
	if want := (98*10*time.Microsecond + 53*time.Millisecond) / 100; s.Mean != want {
		t.Errorf("mean %v, want %v", s.Mean, want)
	}
	h.record(-time.Second) // a clock oddity counts as on time
	if s := h.summary(); s.Count != 101 || s.P50 != 11*time.Microsecond {
		t.Errorf("after a negative sample: %+v", s)
	}
}
