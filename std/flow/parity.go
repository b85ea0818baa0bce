package flow

import (
	"slices"
	"time"
)

// The Parity controller's tuning.
const (
	parityWindowSegs   = 1000                   // a window closes after this many data segments sent…
	parityWindowMin    = 50 * time.Millisecond  // …and at least this long (or two RTTs)
	parityWindowMax    = 10 * time.Second       // or after this long with at least parityWindowLow
	parityWindowLow    = 50                     // segments
	parityHighLoss     = 0.03                   // residual loss that adds a parity shard at RTT ≤ parityRTTRef (below it, resending costs less than a shard)
	parityRTTRef       = 100 * time.Millisecond // longer paths add parity at proportionally less loss
	parityHighFloor    = 0.0025                 // the least residual loss that adds a shard
	parityCalm         = 3                      // calm windows in a row before a shard is dropped
	parityMedianOf     = 5                      // the residual loss is the median of this many windows
	parityMinWins      = 3                      // windows at a shard count before the next step
	parityHoldMin      = time.Second            // the hold before the next drop after one that failed (none before)
	parityHoldMax      = 30 * time.Second       // the hold after drops that failed again and again
	parityRemember     = 10 * time.Second       // how long the loss measured at another shard count is trusted…
	parityRememberRTTs = 30                     // …or this many round trips, if longer
	patternMinLost     = 30                     // lost segments a loss pattern needs before it is trusted
	patternMargin      = 0.5                    // a shard the pattern says repairs under this share of its cost is not bought
	patternLen         = 8                      // blocks counted by lost segments: 0 … patternLen−2, and more
)

// Parity decides how many of the configured parity shards of each FEC
// group a sender sends. The receiver's decoder needs no notice: a parity
// shard not sent looks to it like one lost.
//
// It watches the residual loss: the share of data segments the sender
// sent again and had to (what FEC did not repair; Spurious takes back
// the resends the peer's ACKs showed unneeded): the median of the last
// five windows of at least 1000 segments and two round trips each, at
// the current shard count, so that one window with a burst of
// retransmissions (a queue that overflowed once, a stall) moves nothing.
//
// A shard has to pay for itself. It costs 1/ds of the data in wire bytes;
// it saves the retransmissions it repairs, each of which costs a segment
// too and makes its stream wait about a round trip (counted as one more
// segment for every 100 ms of RTT). A bulk sender (windows that fill with
// 1000 segments) measures that: it probes one shard fewer when it does
// not know the loss there, keeps the count whose last shard paid, and
// does not add a shard it measured not to pay. Random loss of 10 % on a
// 200 ms path keeps two of three shards; bursts longer than the parity
// (which FEC cannot repair), or 1–2 % random loss, keep none. What it
// measured at the other counts is trusted for 10 s (30 round trips on a
// long path, where each window lasts two): the residual loss moves with
// more than the link (a queue that overflowed, a patch of bursts), and a
// comparison that came out wrong holds no longer than that.
//
// A window whose residual loss is above a threshold adds a shard, unless
// that shard is known not to pay; the threshold falls as the RTT grows,
// since a retransmission costs a round trip of head-of-line waiting. A
// session that sends little (an interactive one, whose windows close on
// time, not on 1000 segments) keeps the shards the threshold asks for:
// they cost it few bytes and save it round trips. There three calm
// windows in a row (residual loss under a quarter of the threshold) drop
// a shard.
//
// A drop that a later window undoes (the loss came back) holds the next
// drop, and a bulk sender's next probe, back for 1 s, doubling with each
// such failure up to parityHoldMax; until the first there is no hold, so
// that a download sheds the shards it does not need in its first seconds
// (on the bench's bursty link, a 1 s hold before each of the three steps
// down cost 1.06× the goodput over three rounds).
//
// Whether a shard can pay at all shows before one is bought, in the
// pattern of the loss: the sender learns which segments were lost at
// their first sending (Judged), and counts, per block of ds of them in a
// row, how many each block lost. With i shards a group that loses i or
// fewer is rebuilt, so shard i saves the segments of the blocks that
// lost exactly i. Measured while no shard is sent, over the last windows
// there, that says what each shard would repair; a bulk sender does not
// buy a shard the pattern says repairs under half its cost. On a link
// that loses in bursts longer than the parity (the bench's bursty link:
// ≈ 3 % loss in bursts of ≈ 7 packets, about one block in fifty with
// a lone loss) the residual loss is over the threshold, yet a shard
// would repair 2–7 % of its cost (a traced run); before this each
// measurement bought one, often two, and kept them for seconds when
// windows polluted by timeout resends made them look paid for. Random
// loss (the bad link's 10 %: two blocks in five lose exactly one) is
// left to the measurement.
//
// It starts with none and adds what the loss it measures asks for: parity
// is earned by loss seen, not spent in case. Starting with every shard
// (what kcptun sends) made a download pay for shards it then shed over
// its first seconds (30 %, 20 %, 10 % more traffic for a second or two
// each); starting with none moved 1.03–1.07× the goodput on the bench's
// bursty link, 1.03× on lossy and changing, 0.98× on bad and satellite
// (which add their shards back), over three rounds each. It is not safe
// for concurrent use; its zero value is not ready (use NewParity).
type Parity struct {
	ds, max, n int

	winStart        time.Time
	pushes, retrans int
	loss            float64 // the residual loss: the median of the last windows at n shards
	wins            [parityMedianOf]float64
	nwins           int // windows seen at n shards (wins is a ring)

	known []levelLoss // the residual loss measured at each shard count, by bulk windows

	// The loss pattern (see Judged): blocks of ds segments by how many
	// they lost, in the window now (blk) and the last windows at n
	// shards (blks, a ring as wins); the block being judged (cur, lost,
	// open); and the sum over the windows last measured at no shard.
	blk     [patternLen]int
	blks    [parityMedianOf][patternLen]int
	cur     uint32
	curLost int
	open    bool
	zero    [patternLen]int
	zeroAt  time.Time

	calm       int
	lastChange time.Time
	probed     bool // the last change was a drop
	hold       time.Duration
}

// levelLoss is the residual loss measured at one shard count, and when
// (zero: never).
type levelLoss struct {
	loss float64
	at   time.Time
}

// ParityState is a Parity's view, for logs and metrics.
type ParityState struct {
	Shards int     // parity shards sent per group
	Max    int     // the configured --parityshard
	Loss   float64 // the residual loss (0–1), the median of the last windows
	// Repairable is the share of the lost segments Max shards would have
	// rebuilt, by the loss pattern last measured at no shard (see
	// Judged); −1 until one with patternMinLost lost segments is.
	Repairable float64
}

// NewParity returns a Parity for FEC groups of ds data shards and up to
// ps parity shards; it sends none until it has seen loss.
func NewParity(ds, ps int) *Parity {
	return &Parity{ds: max(ds, 1), max: ps, known: make([]levelLoss, ps+1)}
}

// Shards returns how many parity shards of each group to send now.
func (p *Parity) Shards() int { return p.n }

// State returns the controller's view.
func (p *Parity) State() ParityState {
	return ParityState{Shards: p.n, Max: p.max, Loss: p.loss, Repairable: p.repairable()}
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
	p.blks[p.nwins%parityMedianOf], p.blk = p.blk, [patternLen]int{}
	p.nwins++
	p.loss = median(p.wins[:min(p.nwins, parityMedianOf)])
	p.pushes, p.retrans, p.winStart = 0, 0, now
	p.step(now, rtt, full)
}

// Spurious takes back n of the retransmissions counted by Sent: the
// peer's ACKs showed them unneeded (the first copy arrived, or FEC
// rebuilt it), so they are not loss that FEC left. They come a round trip
// after the resend, so one that ends a window is taken from the next.
func (p *Parity) Spurious(n int) {
	p.retrans = max(p.retrans-n, 0)
}

// Judged notes that segment sn, sent for the first time, was (or was
// not) lost: missing when later ones were acknowledged. Segments come in
// order of sn, each once (the sender's ACK tracking judges every one,
// also those the peer's una passed first); one skipped counts as not
// lost.
func (p *Parity) Judged(sn uint32, lost bool) {
	if b := sn / uint32(p.ds); !p.open || b != p.cur {
		if p.open {
			p.blk[min(p.curLost, patternLen-1)]++
		}
		p.cur, p.curLost, p.open = b, 0, true
	}
	if lost {
		p.curLost++
	}
}

// median returns the median of v (the upper one of an even count; 0 for
// none), leaving v as it is.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var buf [64]float64 // room for a round trip of samples without allocating
	sorted := append(buf[:0], v...)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
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

// remember records the residual loss at the current shard count.
func (p *Parity) remember(now time.Time) {
	p.known[p.n] = levelLoss{loss: p.loss, at: now}
}

// pays reports whether shard i (the step from i−1 to i shards) is worth
// its bytes, and whether that is known: both counts measured within
// parityRemember (or parityRememberRTTs). It pays when the
// retransmissions it saves per data segment, each weighed
// 1 + RTT/100 ms, outweigh the 1/ds it costs.
func (p *Parity) pays(i int, now time.Time, rtt time.Duration) (pays, known bool) {
	lo, hi := p.known[i-1], p.known[i]
	if !fresh(lo.at, now, rtt) || !fresh(hi.at, now, rtt) {
		return false, false
	}
	return (lo.loss-hi.loss)*resendWeight(rtt) >= 1/float64(p.ds), true
}

// fresh reports whether a measurement taken at (zero: never) is still
// trusted at now: within parityRemember, or parityRememberRTTs round
// trips on a long path.
func fresh(at, now time.Time, rtt time.Duration) bool {
	return !at.IsZero() && now.Sub(at) <= max(parityRemember, parityRememberRTTs*rtt)
}

// resendWeight is what one retransmission costs, in segments: the
// segment, and one more for every parityRTTRef of head-of-line waiting.
func resendWeight(rtt time.Duration) float64 {
	return 1 + float64(rtt)/float64(parityRTTRef)
}

// rememberPattern keeps the loss pattern of the windows at no shard.
func (p *Parity) rememberPattern(now time.Time) {
	p.zero = [patternLen]int{}
	for _, w := range p.blks[:min(p.nwins, parityMedianOf)] {
		for k, n := range w {
			p.zero[k] += n
		}
	}
	p.zeroAt = now
}

// repairable returns ParityState.Repairable.
func (p *Parity) repairable() float64 {
	_, lost := p.patternTotals()
	if lost < patternMinLost {
		return -1
	}
	mended := 0
	for k := 1; k <= min(p.max, patternLen-2); k++ {
		mended += k * p.zero[k]
	}
	return float64(mended) / float64(lost)
}

// patternTotals returns the segments and the lost ones in the pattern
// last measured at no shard (the blocks of patternLen−1 or more lost
// counted at that).
func (p *Parity) patternTotals() (segs, lost int) {
	for k, n := range p.zero {
		segs += n * p.ds
		lost += k * n
	}
	return segs, lost
}

// patternPays reports whether shard i could pay for itself by the loss
// pattern last measured at no shard (see Judged): whether the segments
// of the blocks that lost exactly i, weighed as in pays, come to
// patternMargin of its cost; known is false when that pattern is older
// than pays trusts, holds under patternMinLost lost segments, or i is
// past what it counts.
func (p *Parity) patternPays(i int, now time.Time, rtt time.Duration) (could, known bool) {
	if !fresh(p.zeroAt, now, rtt) || i >= patternLen-1 {
		return false, false
	}
	segs, lost := p.patternTotals()
	if lost < patternMinLost {
		return false, false
	}
	saved := float64(i*p.zero[i]) / float64(segs)
	return saved*resendWeight(rtt) >= patternMargin/float64(p.ds), true
}

// step moves the shard count after a window; bulk: the window filled with
// parityWindowSegs segments. Calm windows count from the first at a
// count; every step waits for parityMinWins windows there.
func (p *Parity) step(now time.Time, rtt time.Duration, bulk bool) {
	high := HighLoss(rtt)
	if p.loss < high/4 {
		p.calm++
	} else {
		p.calm = 0
	}
	if p.nwins < parityMinWins {
		return
	}
	if bulk {
		p.remember(now)
		if p.n == 0 {
			p.rememberPattern(now)
		}
	}
	if bulk && p.n > 0 {
		switch pays, known := p.pays(p.n, now, rtt); {
		case known && !pays: // the last shard does not pay: drop it
			p.change(now, -1)
			return
		case !known && now.Sub(p.lastChange) >= p.hold: // probe one fewer
			p.change(now, -1)
			return
		}
	}
	switch {
	case p.loss > high:
		if p.n == p.max {
			return
		}
		if pays, known := p.pays(p.n+1, now, rtt); bulk && known && !pays {
			return
		}
		if could, known := p.patternPays(p.n+1, now, rtt); bulk && known && !could {
			return
		}
		if p.probed {
			p.hold = min(max(2*p.hold, parityHoldMin), parityHoldMax)
		}
		p.change(now, +1)
	case p.calm >= parityCalm && p.n > 0 && now.Sub(p.lastChange) >= p.hold:
		if p.probed { // the previous drop held up
			p.hold = max(p.hold/2, parityHoldMin)
		}
		p.change(now, -1)
	}
}

// change moves the shard count by d and starts measuring afresh.
func (p *Parity) change(now time.Time, d int) {
	p.n += d
	p.calm, p.nwins = 0, 0
	p.probed, p.lastChange = d < 0, now
}
