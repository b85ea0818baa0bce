package flow

import "time"

// The RateController's tuning.
const (
	startupGain  = 2.885 // 2/ln 2: the pacing gain while looking for the rate
	startupCwnd  = 2     // and the window's: this × rate × min RTT
	bwRounds     = 10    // the bottleneck rate is the most delivered in this many round trips
	fullBwGrowth = 1.25  // startup ends after fullBwRounds round trips that grow the rate less than this
	fullBwRounds = 3
	minRound     = 20 * time.Millisecond // the least time a round trip counts for
	lossGain     = 0.25                  // how much of a round trip's loss share the smoothed one takes
	fellBelow    = 0.9                   // a standing queue resets the rate only if a round trip delivered less than this share of it
	maxLoss      = 0.5                   // the window grows for loss up to this share
)

// Pacing while probing, and the periodic drain.
const (
	// cruiseGain paces above the rate so that the window, not the
	// pacer, holds the sender: a window with room for a short queue
	// delivers more than the rate whenever the path has more to give,
	// and the rate it measures follows. The pacer only spreads bursts.
	cruiseGain = 1.25
	drainShare = 0.5 // the window during the periodic drain: this × rate × least RTT
	// drainEvery is how often the queue is drained for a round trip
	// (at least drainFor), so that the least RTT stays the path's own
	// rather than learning a queue that never empties.
	drainEvery = MinRTTWindow / 2
	drainFor   = 100 * time.Millisecond
)

// The RateController's phases, besides PhaseStartup.
const (
	PhaseDrain Phase = "drain" // emptying the queue (after startup, and every drainEvery)
	PhaseProbe Phase = "probe" // holding the measured rate's window, finding more
)

// RateSample is what a sender that sees its peer's ACKs knows at one
// moment.
type RateSample struct {
	Now time.Time
	// RTT and MinRTT are the mean and the least round trip of the
	// segments acknowledged since the last sample (0: none was).
	RTT, MinRTT time.Duration
	// Delivered counts the segments the peer has acknowledged, in total.
	Delivered uint64
	// Lost counts the segments found lost, in total.
	Lost uint64
	// InFlight is how many segments are in the network: sent, and neither
	// acknowledged nor lost.
	InFlight int
	// Blocked is how long, in total, the writer has waited (see Sample).
	Blocked time.Duration
}

// RateController decides one session's send window and pacing rate from
// the rate at which its peer acknowledges segments, in the manner of BBR:
// the bottleneck rate is the most delivered per round trip in the last
// bwRounds round trips; the window is what that rate keeps in flight
// over the least RTT plus a short queue and the peer's ACK interval
// (grown by the share lost); packets are paced at 1.25 × the rate, so
// the window holds the sender and a path with more to give delivers
// more, which raises the rate. Loss does not steer it: a lossy link
// delivers at its rate all the same. A queue that stands for two round
// trips (the mean RTT twice the target above the least) means the rate
// fell: that round trip's own delivery rate, which a standing queue
// makes the bottleneck's, replaces the estimate. Every drainEvery the
// window falls to half the bandwidth-delay product for a round trip, so
// the queue empties and the least RTT stays the path's own.
//
// It starts by doubling the rate each round trip, and stops when three
// round trips in a row grow it by less than a quarter or the queue
// grows past the target, then drains the queue it made.
//
// It needs the peer's ACKs (transport.Peer counts them), so it runs
// only on a SealConn. It is not safe for concurrent use; use NewRate.
type RateController struct {
	p     Params
	phase Phase

	minRTT minFilter
	bw     [bwRounds]float64 // segments per second, one per round trip
	bwNext int
	fullBw float64
	flat   int // round trips in a row that grew the rate less than fullBwGrowth
	queued int // probing round trips in a row with a standing queue

	drainStart time.Time // the current drain's start (zero: the drain after startup)
	lastDrain  time.Time // when the last drain began
	// refill is set for the round trip after a drain: the ACKs that come
	// back are still the drain's few, so pacing above the rate would put
	// all the window lets out into the queue at once.
	refill bool

	roundStart     time.Time
	roundDelivered uint64
	roundLost      uint64
	loss           float64 // the share of segments lost, smoothed over round trips
	roundBlocked   time.Duration
	rttSum         time.Duration
	rttN           int
	qdelay         time.Duration
	lastBusy       time.Time
	interval       int
}

// NewRate returns a RateController in startup with p's initial window.
func NewRate(p Params) *RateController {
	p = p.withDefaults()
	return &RateController{p: p, phase: PhaseStartup, interval: p.Interval, minRTT: minFilter{window: MinRTTWindow}}
}

// Rate returns the bottleneck rate, segments per second (0: not known).
func (c *RateController) Rate() float64 {
	best := 0.0
	for _, r := range c.bw {
		best = max(best, r)
	}
	return best
}

// ackDelay is how long a KCP receiver may hold an ACK: until its next
// flush, an interval (the peer's, assumed like ours). The least RTT is
// of an ACK sent at once, most are later, and a window of the least RTT's
// worth would leave the rate no room to grow on a short path.
func (c *RateController) ackDelay() time.Duration {
	return time.Duration(c.p.Interval) * time.Millisecond
}

// probeQueue is the queue the window leaves room for while probing:
// twice the target delay (10–30 ms), so a download adds no more than that
// to the path's RTT.
func probeQueue(minRTT time.Duration) time.Duration { return 2 * pathTarget(minRTT) }

// pacingGain is the share of the rate to pace at now.
func (c *RateController) pacingGain() float64 {
	switch c.phase {
	case PhaseStartup:
		return startupGain
	case PhaseDrain:
		if !c.drainStart.IsZero() {
			return 1 // the window drains; a slower pacer would hold what kcp-go already let out
		}
		return 1 / startupGain
	}
	if c.refill {
		return 1
	}
	return cruiseGain
}

// window is the most to have in flight: while probing, what the rate
// keeps in flight over the least RTT plus probeQueue's worth and the
// peer's ACK interval (room for ACKs that come in bunches and a short
// queue); during a periodic drain, half the bandwidth-delay product.
// In startup and the drain after it, twice the bandwidth-delay product
// but no more than the pacer sends in that time: what kcp-go emits
// beyond it would wait in the pacer past kcp-go's retransmission
// timeout and go out twice.
//
// Segments lost hold a place in the window for a round trip before the
// loss is found, so the window grows by the share lost: otherwise each
// round trip at a high loss rate delivers less than the last and the
// rate it measures falls with it.
func (c *RateController) window() float64 {
	span := (c.minRTT.get() + probeQueue(c.minRTT.get()) + c.ackDelay()).Seconds()
	w := min(startupCwnd*c.bdp(), c.pacingGain()*c.Rate()*span)
	switch {
	case c.phase == PhaseProbe:
		w = c.Rate() * span
	case c.phase == PhaseDrain && !c.drainStart.IsZero():
		w = drainShare * c.bdp()
	}
	return w / (1 - min(c.loss, maxLoss))
}

// bdp is the segments the rate keeps in flight over the least RTT.
func (c *RateController) bdp() float64 {
	return c.Rate() * c.minRTT.get().Seconds()
}

// Decision returns the window (segments in flight, not counting those
// acknowledged above a hole), the interval and the pacing rate.
func (c *RateController) Decision() Decision {
	rate := c.Rate()
	if rate == 0 || c.minRTT.get() == 0 {
		return Decision{Wnd: min(InitWnd, c.p.MaxWnd), Interval: c.interval}
	}
	wnd := min(max(int(c.window()), MinWnd), c.p.MaxWnd)
	d := Decision{Wnd: wnd, Interval: c.interval}
	if c.p.SegBytes > 0 && c.interval != c.p.Interval { // paced only in bulk
		d.Pace = c.pacingGain() * rate * float64(c.p.SegBytes)
	}
	return d
}

// State returns the controller's view.
func (c *RateController) State() State {
	return State{
		Phase: c.phase, Wnd: c.Decision().Wnd, MinRTT: c.minRTT.get(), QDelay: c.qdelay,
		Target: pathTarget(c.minRTT.get()), Bulk: c.interval != c.p.Interval,
	}
}

// Update feeds one sample and returns the Decision and whether it
// changed. Each round trip (the least RTT, at least minRound) gives one
// delivery rate.
func (c *RateController) Update(s RateSample) (Decision, bool) {
	before := c.Decision()
	if !c.lastBusy.IsZero() && s.Now.Sub(c.lastBusy) < BulkHold {
		c.interval = bulkInterval(c.p.Interval, c.minRTT.get())
	} else {
		c.interval = c.p.Interval
	}
	if s.RTT <= 0 {
		after := c.Decision()
		return after, after != before
	}
	c.minRTT.add(s.Now, min(s.MinRTT, s.RTT))
	c.rttSum += s.RTT
	c.rttN++
	if c.roundStart.IsZero() {
		c.roundStart, c.roundDelivered, c.roundLost, c.roundBlocked = s.Now, s.Delivered, s.Lost, s.Blocked
	}
	if elapsed := s.Now.Sub(c.roundStart); elapsed >= max(c.minRTT.get(), minRound) {
		c.endRound(s, elapsed)
	}
	after := c.Decision()
	return after, after != before
}

// endRound takes the delivery rate of the round trip that ends with s.
func (c *RateController) endRound(s RateSample, elapsed time.Duration) {
	rate := float64(s.Delivered-c.roundDelivered) / elapsed.Seconds()
	busy := float64(s.Blocked-c.roundBlocked) >= busyAtLeast*float64(elapsed)
	c.qdelay = c.rttSum/time.Duration(c.rttN) - c.minRTT.get()
	if dl, dd := float64(s.Lost-c.roundLost), float64(s.Delivered-c.roundDelivered); dl+dd > 0 {
		c.loss += (dl/(dl+dd) - c.loss) * lossGain
	}
	c.roundStart, c.roundDelivered, c.roundLost, c.roundBlocked, c.rttSum, c.rttN = s.Now, s.Delivered, s.Lost, s.Blocked, 0, 0
	if busy {
		c.lastBusy = s.Now
	}
	c.round(s.Now, rate, busy, s.InFlight)
	if busy {
		c.interval = bulkInterval(c.p.Interval, c.minRTT.get())
	}
}

// round ends a round trip that delivered rate segments per second.
func (c *RateController) round(now time.Time, rate float64, busy bool, inFlight int) {
	queued := c.qdelay > 2*pathTarget(c.minRTT.get())
	if queued && c.phase == PhaseProbe {
		c.queued++
	} else {
		c.queued = 0
	}
	switch {
	case c.queued >= 2 && rate > 0 && rate < fellBelow*c.Rate():
		// A standing queue and less delivered: the link delivers what
		// it can, and that is less than the estimate. (A queue alone,
		// or RTT samples a busy host delayed, is no reason.)
		c.bw = [bwRounds]float64{}
		c.bw[0], c.bwNext = rate, 1
	case busy || rate > c.Rate():
		c.bw[c.bwNext] = rate
		c.bwNext = (c.bwNext + 1) % bwRounds
	}
	switch c.phase {
	case PhaseStartup:
		if !busy {
			return
		}
		if best := c.Rate(); best >= c.fullBw*fullBwGrowth {
			c.fullBw, c.flat = best, 0
		} else {
			c.flat++
		}
		if c.flat >= fullBwRounds || queued {
			c.phase, c.lastDrain = PhaseDrain, now
		}
	case PhaseDrain:
		switch {
		case c.drainStart.IsZero() && (float64(inFlight) <= c.bdp() || c.qdelay < pathTarget(c.minRTT.get())):
			c.phase = PhaseProbe
		case !c.drainStart.IsZero() && now.Sub(c.drainStart) >= drainFor:
			c.phase, c.drainStart, c.refill = PhaseProbe, time.Time{}, true
		}
	case PhaseProbe:
		c.refill = false
		if now.Sub(c.lastDrain) >= drainEvery {
			c.phase, c.drainStart, c.lastDrain = PhaseDrain, now, now
		}
	}
}
