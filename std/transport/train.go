package transport

import "time"

// trainLen is how many ACK packets after the first a rate is measured
// over, and trainMinSpan the least time they must span: the peer sends
// its ACKs every interval (10 ms at fast3), each of what arrived since,
// so a span of several intervals smooths that timer's jitter.
const (
	trainLen     = 4
	trainMinSpan = 20 * time.Millisecond
	// trainMaxGap is the longest wait between two ACK packets of one
	// train: a longer one means the segments did not arrive back to
	// back, and the rate across it is the sender's, not the path's.
	trainMaxGap = 25 * time.Millisecond
)

// trainRate measures how fast the peer acknowledges segments while they
// arrive back to back: over each run of trainLen ACK packets that bring
// news, the segments acknowledged per second. Where the sender sent
// faster than the path's bottleneck (a window's burst), the ACKs come
// back at the bottleneck's rate; elsewhere the rate is lower, so the
// most seen is the bottleneck's (a packet train, as in packet-pair
// probing), known from the first window's ACKs on, long before the
// window fills the path.
type trainRate struct {
	at        [trainLen]time.Time
	delivered [trainLen]uint64
	n         int     // ACK packets with news recorded
	runFrom   int     // the first of them with no long gap since
	most      float64 // segments per second, since the last take
}

// add notes a packet from the peer that arrived at now, when delivered
// segments were acknowledged in total; one that brought no news (data
// alone, a window update, a copy of an ACK packet) is left out.
func (r *trainRate) add(now time.Time, delivered uint64) {
	i := r.n % trainLen
	if r.n > 0 && delivered == r.delivered[(r.n-1)%trainLen] {
		return
	}
	if r.n > 0 && now.Sub(r.at[(r.n-1)%trainLen]) > trainMaxGap {
		r.runFrom = r.n
	}
	if r.n-trainLen >= r.runFrom { // r.at[i] is the packet trainLen before this one, with no long gap since
		if span := now.Sub(r.at[i]); span >= trainMinSpan {
			r.most = max(r.most, float64(delivered-r.delivered[i])/span.Seconds())
		}
	}
	r.at[i], r.delivered[i] = now, delivered
	r.n++
}

// take returns the most seen since the last call, in segments per second
// (0: no run of ACKs spanned trainMinSpan).
func (r *trainRate) take() float64 {
	m := r.most
	r.most = 0
	return m
}
