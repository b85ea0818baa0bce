package transport

import (
	"math"
	"testing"
	"time"
)

// ACKs of segments that crossed a bottleneck back to back come at its
// rate; the most over any run of them is the bottleneck's, whatever came
// slower in between. Nothing is known before a run spans trainMinSpan,
// and ACK packets further apart than trainMaxGap are no run, however
// much each acknowledges (the sender sent in bursts), even where the
// peer's packets of data alone come in between.
func TestTrainRateIsTheBottlenecksRate(t *testing.T) {
	var r trainRate
	now := time.Unix(1e9, 0)
	delivered := uint64(0)
	ack := func(every time.Duration, segs uint64) {
		now = now.Add(every)
		delivered += segs
		r.add(now, delivered)
	}
	for range trainLen {
		ack(2*time.Millisecond, 1)
	}
	if got := r.take(); got != 0 {
		t.Errorf("first packets, a train spanning 8 ms: %v seg/s, want 0 (unknown)", got)
	}
	for range 3 * trainLen {
		ack(10*time.Millisecond, 7) // the peer's ACK timer: 700 seg/s
	}
	for range 2 * trainLen {
		ack(30*time.Millisecond, 100) // bursts a window apart: 3333 seg/s if taken as a train
		r.add(now, delivered)         // a copy of that packet: no news
		for i := range 5 {            // the peer's data alone, every 5 ms: no news, and no bridge over the gap
			r.add(now.Add(time.Duration(i+1)*5*time.Millisecond), delivered)
		}
	}
	if got := r.take(); math.Abs(got-700) > 1 {
		t.Errorf("bottleneck %v seg/s, want 700", got)
	}
	if got := r.take(); got != 0 {
		t.Errorf("a second take with nothing new: %v, want 0", got)
	}
}
