package flow

import (
	"slices"
	"time"
)

// The Parity controller's tuning.
const (
	parityWindowSegs = 1000                   // a window closes after this many data segments sent…
	parityWindowMin  = 50 * time.Millisecond  // …and at least this long (or two RTTs)
	parityWindowMax  = 10 * time.Second       // or after this long with at least parityWindowLow
	parityWindowLow  = 50                     // segments
	parityHighLoss   = 0.03                   // residual loss that adds a parity shard at RTT ≤ parityRTTRef (below it, resending costs less than a shard)
	parityRTTRef     = 100 * time.Millisecond // longer paths add parity at proportionally less loss
	parityHighFloor  = 0.0025                 // the least residual loss that adds a shard
	parityCalm       = 3                      // calm windows in a row before a shard is dropped
	parityMedianOf   = 5                      // the residual loss is the median of this many windows
	parityHoldMin    = time.Second            // the least time between a step and the next drop
	parityHoldMax    = 30 * time.Second       // the hold after drops that failed again and again
)

// Parity decides how many of the configured parity shards of each FEC
// group a sender sends. The receiver's decoder needs no notice: a parity
// shard not sent looks to it like one lost.
//
// It watches the residual loss: the share of data segments the sender
// sent again and had to (what FEC did not repair; Spurious takes back
// the resends the peer's ACKs showed unneeded):
// the median of the last five windows of at least 1000 segments and two
// round trips each, so that one window with a burst of retransmissions
// (a queue that overflowed once, a stall) moves nothing.
// A window whose residual loss is above a threshold adds a shard; the
// threshold falls as the RTT grows, since a retransmission costs a round
// trip of head-of-line waiting. Three calm windows in a row (residual
// loss under a quarter of the threshold) drop a shard, so a clean link
// ends with none. A drop that the next window undoes doubles the time
// before the next drop (at most parityHoldMax), so a link that needs the
// shard does not pay for probing often.
//
// It starts with every shard: what kcptun sends. It is not safe for
// concurrent use; its zero value is not ready (use NewParity).
type Parity struct {
	max, n int

	winStart        time.Time
	pushes, retrans int
	loss            float64 // the residual loss: the median of the last windows
	wins            [parityMedianOf]float64
	nwins           int // windows seen (wins is a ring)

	calm       int
	lastChange time.Time
	probed     bool // the last change was a drop
	hold       time.Duration
}

// ParityState is a Parity's view, for logs and metrics.
type ParityState struct {
	Shards int     // parity shards sent per group
	Max    int     // the configured --parityshard
	Loss   float64 // the residual loss (0–1), the median of the last windows
}

// NewParity returns a Parity that sends all max shards until it has seen
// the link.
func NewParity(max int) *Parity {
	return &Parity{max: max, n: max, hold: parityHoldMin}
}

// Shards returns how many parity shards of each group to send now.
func (p *Parity) Shards() int { return p.n }

// State returns the controller's view.
func (p *Parity) State() ParityState {
	return ParityState{Shards: p.n, Max: p.max, Loss: p.loss}
}

// Sent counts data segments sent at now (pushes, of which retrans were
// sent before) and, when a window closes, moves the shard count. rtt is
// the path's round trip (0: unknown).
func (p *Parity) Sent(now time.Time, pushes, retrans int, rtt time.Duration) {
	if p.winStart.IsZero() {
		p.winStart, p.lastChange = now, now
	}
	p.pushes += pushes
	p.retrans += retrans
	age := now.Sub(p.winStart)
	full := p.pushes >= parityWindowSegs && age >= max(2*rtt, parityWindowMin)
	stale := p.pushes >= parityWindowLow && age >= parityWindowMax
	if !full && !stale {
		return
	}
	p.wins[p.nwins%parityMedianOf] = float64(p.retrans) / float64(p.pushes)
	p.nwins++
	p.loss = median(p.wins[:min(p.nwins, parityMedianOf)])
	p.pushes, p.retrans, p.winStart = 0, 0, now
	p.step(now, rtt)
}

// Spurious takes back n of the retransmissions counted by Sent: the
// peer's ACKs showed them unneeded (the first copy arrived, or FEC
// rebuilt it), so they are not loss that FEC left. They come a round trip
// after the resend, so one that ends a window is taken from the next.
func (p *Parity) Spurious(n int) {
	p.retrans = max(p.retrans-n, 0)
}

// median returns the median of v (the upper one of an even count); v is
// at most parityMedianOf long.
func median(v []float64) float64 {
	var s [parityMedianOf]float64
	n := copy(s[:], v)
	sorted := s[:n]
	slices.Sort(sorted)
	return sorted[n/2]
}

// HighLoss is the residual loss above which a window adds a shard on a
// path with this RTT.
func HighLoss(rtt time.Duration) float64 {
	h := parityHighLoss
	if rtt > parityRTTRef {
		h *= float64(parityRTTRef) / float64(rtt)
	}
	return max(h, parityHighFloor)
}

func (p *Parity) step(now time.Time, rtt time.Duration) {
	high := HighLoss(rtt)
	switch {
	case p.loss > high:
		p.calm = 0
		if p.n == p.max {
			return
		}
		if p.probed {
			p.hold = min(2*p.hold, parityHoldMax)
		}
		p.n++
		p.probed, p.lastChange = false, now
	case p.loss < high/4:
		p.calm++
		if p.calm < parityCalm || p.n == 0 || now.Sub(p.lastChange) < p.hold {
			return
		}
		if p.probed { // the previous drop held up
			p.hold = max(p.hold/2, parityHoldMin)
		}
		p.n--
		p.calm = 0
		p.probed, p.lastChange = true, now
	default:
		p.calm = 0
	}
}
