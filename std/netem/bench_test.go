package netem

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLink floods a link with 1200-byte packets as fast as Send takes
// them and waits for all of them: the emulator's packet capacity (lateness
// is meaningless in a flood; see BenchmarkLinkPaced50k).
func BenchmarkLink(b *testing.B) {
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"clean", Spec{}},
		{"delay1ms", Spec{Delay: time.Millisecond}},
		{"lossy", Spec{Delay: time.Millisecond, Jitter: 500 * time.Microsecond, Loss: 0.02, Reorder: 0.01, Duplicate: 0.01}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var got atomic.Int64
			done := make(chan struct{}, 1)
			l, err := NewLink(bc.spec, func([]byte, net.Addr) {
				got.Add(1)
				select {
				case done <- struct{}{}:
				default:
				}
			}, WithSeed(1))
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			pkt := make([]byte, 1200)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				l.Send(pkt, nil)
			}
			for {
				st := l.Stats()
				if got.Load() == int64(st.In-st.LossDrops-st.QueueDrops+st.Duplicated) {
					break
				}
				<-done
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
		})
	}
}

// BenchmarkLinkPaced50k offers 50,000 packets/s (50 per millisecond tick)
// to a link shaped like the lossy profile minus the rate limit, and reports
// the lateness the link measured: the number that says whether a bench run
// at that packet rate can be trusted.
func BenchmarkLinkPaced50k(b *testing.B) {
	spec := Spec{Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.02}
	var got atomic.Int64
	l, err := NewLink(spec, func([]byte, net.Addr) { got.Add(1) }, WithSeed(1))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	pkt := make([]byte, 1200)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		<-tick.C
		for range min(50, b.N-sent) {
			l.Send(pkt, nil)
			sent++
		}
	}
	for {
		st := l.Stats()
		if got.Load() == int64(st.In-st.LossDrops) {
			break
		}
		<-tick.C
	}
	b.StopTimer()
	late := l.Stats().Lateness
	b.ReportMetric(float64(late.P50.Microseconds()), "p50-late-µs")
	b.ReportMetric(float64(late.P99.Microseconds()), "p99-late-µs")
	b.ReportMetric(float64(late.Max.Microseconds()), "max-late-µs")
}
