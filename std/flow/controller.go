package flow

import (
	"time"
)

// The Controller's tuning.
const (
	MinWnd       = 16               // the window never falls below it
	InitWnd      = 32               // the window at the start
	MinRTTWindow = 10 * time.Second // how long the least RTT is remembered
	BulkHold     = time.Second      // how long bulk mode outlasts the last busy step

	minTarget      = 5 * time.Millisecond  // queueing delay aimed at on short paths
	maxTarget      = 15 * time.Millisecond // and on long ones
	minStep        = 20 * time.Millisecond // the least time between two window moves
	busyAtLeast    = 0.5                   // fraction of a step the writer waited: window-limited
	maxGrow        = 0.2                   // at most +20 % per round trip
	minGrow        = 0.05                  // and at least +5 % with no queue
	maxShrink      = 0.4                   // at most −40 % per round trip
	overflowResent = 0.10                  // a step resending more than this with a queue above twice the target…
	overflowCut    = 0.7                   // …cuts the window to this share
	paceGain       = 1.25                  // pace at this × window / min RTT

	maxBulkInterval = 100 // ms

	// bdpMinRTT is the least RTT at which startup trusts a BDP from the
	// bottleneck rate: a shorter path repairs an overshoot within a few
	// milliseconds, and kcp-go's RTT, in whole milliseconds, is too coarse
	// there for the product.
	bdpMinRTT = 50 * time.Millisecond
)

// Params are a session's settings: its configured --sndwnd and interval,
// and its segment size.
type Params struct {
	MaxWnd   int // the window never exceeds it (the configured --sndwnd; at least MinWnd)
	Interval int // the configured KCP interval, ms (0: 10)
	SegBytes int // payload bytes per segment (the KCP MSS), for the pacing rate; 0: no pacing
}

func (p Params) withDefaults() Params {
	p.MaxWnd = max(p.MaxWnd, MinWnd)
	if p.Interval <= 0 {
		p.Interval = 10
	}
	return p
}

// Sample is what the sender saw at one moment.
type Sample struct {
	Now  time.Time
	SRTT time.Duration // kcp-go's smoothed RTT; 0 until the first ACK
	// Blocked is how long, in total since the session began, its writer
	// has waited in Write (kcp-go blocks a Write while the send window is
	// full). The Controller only looks at how much it grew.
	Blocked time.Duration
	// Out and Retrans count the segments sent and sent again, in total
	// (kcp-go counts them for the whole process; 0 throughout: unknown).
	Out, Retrans uint64
	// Bottleneck is the most segments per second the peer acknowledged
	// of segments sent back to back, since the last Sample (0: unknown):
	// the rate the path's bottleneck delivers them at.
	Bottleneck float64
}

// Decision is what the session should use now.
type Decision struct {
	Wnd      int // send window, segments
	Interval int // KCP interval, ms
	// Pace is the rate, bytes per second, at which to hand data to the
	// session (0: unpaced). It spreads over a round trip what the window
	// would otherwise release at once when a repaired loss frees it:
	// such a burst overflows the bottleneck's queue, and its tail waits
	// there past the retransmission timeout.
	Pace float64
}

// Phase names where a Controller is.
type Phase string

// The phases.
const (
	PhaseStartup Phase = "startup" // doubling each round trip until the queue grows
	PhaseSteady  Phase = "steady"  // holding the queueing delay near the target
)

// State is a Controller's view, for logs and metrics.
type State struct {
	Phase  Phase
	Wnd    int
	MinRTT time.Duration
	QDelay time.Duration // the last step: its mean SRTT − MinRTT
	Target time.Duration
	Bulk   bool // the interval is widened for bulk sending
}

// Controller decides one session's send window and interval from a
// stream of Samples. It is not safe for concurrent use; its zero value is
// not ready (use New).
type Controller struct {
	p Params

	phase    Phase
	wnd      float64
	interval int

	minRTT  minFilter
	stepSum time.Duration // of the SRTT samples since the last step
	stepN   int
	qdelay  time.Duration

	lastStep    time.Time // when the window last moved (or the first sample)
	lastBlocked time.Duration
	lastOut     uint64
	lastRetrans uint64
	lastBusy    time.Time // the last step whose writer was busy
	calm        int       // steady steps in a row with no queue while busy
	queueSeen   bool      // startup: the last busy step showed a queue, or held a window above the BDP (see step, startupDouble)
	bottleneck  float64   // the most Sample.Bottleneck seen, segments per second
	stepRates   []float64 // the Sample.Bottleneck values of this step (see floor)
	lastDrain   time.Time // see drainStep
	lastLow     time.Time // the last sample within a quarter target of the least RTT
	draining    bool
	saved       float64 // the window before the drain
}

// New returns a Controller in startup with p's initial window.
func New(p Params) *Controller {
	p = p.withDefaults()
	return &Controller{
		p:        p,
		phase:    PhaseStartup,
		wnd:      float64(min(InitWnd, p.MaxWnd)),
		interval: p.Interval,
		minRTT:   minFilter{window: MinRTTWindow},
	}
}

// Decision returns the current window and interval.
func (c *Controller) Decision() Decision {
	d := Decision{Wnd: int(c.wnd), Interval: c.interval}
	if base := c.minRTT.get(); base > 0 && c.p.SegBytes > 0 {
		d.Pace = paceGain * c.wnd * float64(c.p.SegBytes) / base.Seconds()
	}
	return d
}

// State returns the Controller's view.
func (c *Controller) State() State {
	return State{
		Phase: c.phase, Wnd: int(c.wnd), MinRTT: c.minRTT.get(), QDelay: c.qdelay,
		Target: c.target(), Bulk: c.interval != c.p.Interval,
	}
}

// target is the queueing delay the Controller holds: a quarter of the
// path's RTT within [minTarget, maxTarget] (pathTarget), and no less than the
// configured interval. A receiver's ACKs wait for its next
// flush (every interval) unless a packet's worth (about 57) arrive
// first, so at a small window, or a low rate, the RTT carries up to an
// interval of ACK delay that no window change removes, while the least
// RTT may come from an exchange whose ACKs rode on data sent at once (a
// request and its reply). A smaller target reads that delay as a queue
// and shrinks the window, which keeps the ACKs on the timer: on the
// loopback a download stood at MinWnd for the 10 s the least RTT is
// remembered (56 Mbit/s in place of 350). The peer's interval is taken
// to be ours, as the two ends' flags match.
func (c *Controller) target() time.Duration {
	return max(pathTarget(c.minRTT.get()), time.Duration(c.p.Interval)*time.Millisecond)
}

// pathTarget is the queueing delay to hold: a quarter of the path's RTT,
// within [minTarget, maxTarget].
func pathTarget(minRTT time.Duration) time.Duration {
	return min(max(minRTT/4, minTarget), maxTarget)
}

// Update feeds one Sample and returns the Decision, and whether it
// differs from the previous one. The window moves at most once per round
// trip (and never more often than every 20 ms).
func (c *Controller) Update(s Sample) (Decision, bool) {
	before := c.Decision()
	if s.SRTT <= 0 {
		return before, false
	}
	c.minRTT.add(s.Now, s.SRTT)
	c.bottleneck = max(c.bottleneck, s.Bottleneck)
	if s.Bottleneck > 0 {
		c.stepRates = append(c.stepRates, s.Bottleneck)
	}
	if base := c.minRTT.get(); s.SRTT <= base+c.target()/4 {
		c.lastLow = s.Now
	}
	c.stepSum += s.SRTT
	c.stepN++
	if c.lastStep.IsZero() {
		c.lastStep, c.lastBlocked = s.Now, s.Blocked
		return before, false
	}
	elapsed := s.Now.Sub(c.lastStep)
	if elapsed < max(s.SRTT, minStep) {
		return before, false
	}
	busy := float64(s.Blocked-c.lastBlocked) >= busyAtLeast*float64(elapsed)
	resent := 0.0 // the share of segments sent again in the step
	if s.Out > c.lastOut && s.Retrans >= c.lastRetrans {
		resent = float64(s.Retrans-c.lastRetrans) / float64(s.Out-c.lastOut)
	}
	c.lastStep, c.lastBlocked, c.lastOut, c.lastRetrans = s.Now, s.Blocked, s.Out, s.Retrans
	if busy {
		c.lastBusy = s.Now
	}
	c.step(s.Now, c.stepSum/time.Duration(c.stepN), busy, resent)
	c.stepSum, c.stepN, c.stepRates = 0, 0, c.stepRates[:0]
	if !c.lastBusy.IsZero() && s.Now.Sub(c.lastBusy) < BulkHold {
		c.interval = bulkInterval(c.p.Interval, c.minRTT.get())
	} else {
		c.interval = c.p.Interval
	}
	after := c.Decision()
	return after, after != before
}

// bulkInterval is the interval while sending in bulk: 3 × the configured
// one (20–50 ms), or the path's least RTT up to maxBulkInterval when that
// is more, so that the retransmission timeout's margin grows with the
// spread of the ACKs' arrival times, which grows with the path's RTT.
//
// The margin must also outlast the silence a burst of loss on the way
// back makes: the peer sends a packet of ACKs each interval (10 ms at
// fast3), each ACK once, so a burst that takes a few dozen packets of
// ACKs in a row (on the bench's bursty link: 70–115 ms of silence, two
// or three times a download) lets the timeout of every segment they
// acknowledged pass, and kcp-go sends all of them again once the ACKs
// resume (130–300 segments each time). Half the RTT (60 ms there) was
// too little; the whole RTT (100 ms there) gave 1.02–1.05× the goodput
// on bursty and lossy with 0.98–0.99× the wire bytes.
func bulkInterval(interval int, minRTT time.Duration) int {
	base := max(min(max(3*interval, 20), 50), interval)
	rtt := int(minRTT / time.Millisecond)
	return max(base, min(rtt, maxBulkInterval))
}

// step moves the window once, for a round trip whose mean smoothed RTT
// was rtt and whose writer was (or was not) held back. The mean over the
// round trip, not the last sample, measures the queue: one sample can
// catch a burst of late ACKs (a repaired loss, an ACK recovered by FEC);
// the least sample of a round trip misses a queue that overflows and
// drains within it.
func (c *Controller) step(now time.Time, rtt time.Duration, busy bool, resent float64) {
	if c.drainStep(now) {
		return
	}
	base := c.minRTT.get()
	c.qdelay = rtt - base
	t := c.target()
	before := c.wnd
	defer func() {
		if c.wnd < before {
			c.wnd = max(c.wnd, min(before, c.floor()))
		}
	}()
	switch {
	case resent > overflowResent && c.qdelay > 2*t:
		// Many segments sent again while a queue stands: the queue
		// overflows. The smoothed RTT hides how far (it has no samples
		// of the packets dropped, and a retransmission's sample is of
		// the retransmission), so cut the window as loss-based
		// senders do.
		c.phase, c.lastDrain = PhaseSteady, now
		c.wnd *= overflowCut
	case c.phase == PhaseStartup && !busy:
		// an idle or application-limited sender learns nothing here
	case c.phase == PhaseStartup && c.wnd < c.startupBDP()/2:
		// Far below what the bottleneck's rate fills (at the least), a
		// queue is the sender's own burst: a download's first window
		// goes out at once, and its last packets wait behind the first
		// at the bottleneck (on a 10 Mbit/s path 32 segments and their
		// parity wait 22 ms on average, over a 600 ms path's 15 ms
		// target: startup left at 32 segments, and the window took 10 s
		// to reach the path's 430).
		c.startupDouble(now)
	case c.phase == PhaseStartup && c.qdelay >= t && !c.queueSeen:
		// The first round trip that shows a queue holds the window
		// instead of leaving: the smoothed RTT a download starts with
		// carries what came before it (a late sample while the session
		// was idle), and it stands still for the first round trip, as no
		// ACK of the download's has come back yet: on a 600 ms path one
		// such round trip left startup at the initial window. A queue
		// the window made is still there a round trip later; the window
		// did not grow in between, so waiting costs no overshoot.
		c.queueSeen = true
	case c.phase == PhaseStartup && c.qdelay >= t:
		c.phase, c.lastDrain = PhaseSteady, now
		fallthrough
	case c.phase == PhaseSteady:
		// With a window w the RTT is base + q, so the window that holds
		// the target's worth of queue is w × (base + t)/(base + q). Go
		// half of the way there each round trip (a full step overshoots,
		// as the RTT answers a round trip late), at least minGrow up
		// while the queue is under half the target.
		ratio := float64(base+t) / float64(base+c.qdelay)
		f := 1 + (ratio-1)/2
		if c.qdelay < t/2 && busy {
			// No queue yet: grow by minGrow, doubling with each such
			// round trip in a row (up to maxGrow), so that a long path,
			// where the target is a small part of the RTT, does not take
			// dozens of round trips to fill.
			c.calm = min(c.calm+1, 8)
			f = max(f, 1+minGrow*float64(int(1)<<(c.calm-1)))
		} else {
			c.calm = 0
		}
		f = min(max(f, 1-maxShrink), 1+maxGrow)
		if f < 1 || busy {
			c.wnd *= f
		}
	default: // startup, window-limited, below the target
		c.startupDouble(now)
	}
	c.wnd = min(max(c.wnd, MinWnd), float64(c.p.MaxWnd))
}

// trustBDP is how far the BDP from the bottleneck's rate must exceed the
// window before startup takes it as the path's: the ACKs of a paced
// sender come at its pace (paceGain × the window's rate), so an
// estimate near that says only that the path carries at least the pace.
const trustBDP = 1.5

// startupDouble doubles the window, but no further than the BDP the
// bottleneck's rate gives (startupBDP) where that is well above the
// window (trustBDP), and leaves startup there. Without it, on a long path
// the queue shows a round trip late, when the window is already twice
// the one that made it, and that overflows a queue shorter than the BDP
// (on the bench's satellite link the window went on to 1024 segments
// against a BDP of 430, and a third of a window was lost).
//
// A window already above that BDP is held instead: the trains went at
// the window's own bursts, faster than the bottleneck, so the path
// carries no more, and the queue the window makes shows only a round
// trip later, when a doubled window would already be in it (the bench's
// lossy link: 256 → 512 → 1024 against a BDP of 310, the 100 ms queue
// overflowed). The next round trip that shows a queue then ends startup
// at once (queueSeen): it is the window's, not a stale RTT. Trains that
// a pace held back read above the window (paceGain) once they are the
// window's own; read a round trip late, from the window before, they
// hold it for that round trip only.
//
// Between the two (a BDP within trustBDP of the window), the trains may
// have read the pace or the bottleneck: the window grows to paceGain ×
// that BDP. Read from the pace, that still grows it by half or more
// each round trip; read from the bottleneck, the queue it makes is a
// quarter of the path's RTT, within the margin kcp-go's retransmission
// timeout leaves in bulk (the bulk interval). A doubled window there
// made a queue of half the RTT or more, the RTT rose past
// the timeout within a round trip, and kcp-go sent the whole flight
// again into the queue (the bench's lossy link: 600 segments resent in
// half a second, the 100 ms queue overflowing).
func (c *Controller) startupDouble(now time.Time) {
	bdp := c.startupBDP()
	if bdp > 0 && bdp < c.wnd {
		c.queueSeen = true
		return
	}
	c.queueSeen = false
	switch {
	case bdp == 0:
		c.wnd *= 2
		return
	case bdp < trustBDP*c.wnd:
		c.wnd = min(2*c.wnd, paceGain*bdp)
		return
	}
	c.wnd = min(2*c.wnd, bdp)
	if c.wnd >= bdp {
		c.phase, c.lastDrain = PhaseSteady, now
	}
}

// startupBDP is the bandwidth-delay product, in segments, of the fastest
// back-to-back delivery seen and the least RTT, or 0 where it is unknown
// or the path is too short to trust it (bdpMinRTT). The path carries at
// least that much: a train of ACKs comes no faster than the bottleneck
// lets the segments through, but may come slower (the sender's pace).
func (c *Controller) startupBDP() float64 {
	return c.bdpAt(c.bottleneck)
}

// bdpAt is what rate (segments per second) keeps in flight over the
// least RTT, or 0 on a path under bdpMinRTT.
func (c *Controller) bdpAt(rate float64) float64 {
	base := c.minRTT.get()
	if base < bdpMinRTT {
		return 0
	}
	return rate * base.Seconds()
}

// floor is the least window a step may shrink to (0: none): what the
// rate at which the peer received this step's trains of segments keeps
// in flight over the least RTT, their median (one train can read fast:
// ACKs that bunch after a repaired loss). A window that size keeps no
// queue, so a smaller one only leaves the path idle. Startup's overshoot
// showed why: a window doubled past what the bottleneck's queue holds
// loses a share of its segments, and for round trips after the window
// that made it is gone the smoothed RTT carries its queue and the
// resends go on, so the overflow cut came three and four times in a row
// (the bench's bursty link: to two thirds of the BDP, 1.5 s to grow
// back; satellite: to 155 segments against 430, 8 s at half the rate).
// The trains read the bottleneck's rate while the window overfills it,
// the sender's pace while it does not (a floor above the window, which
// does not raise it), and the new rate at once when the link slows down.
// As for startupBDP, a path under bdpMinRTT is too short for the product.
func (c *Controller) floor() float64 {
	return c.bdpAt(median(c.stepRates))
}

// drainStep halves the window for one round trip in the steady phase
// when no RTT sample came near the least for half MinRTTWindow (and the
// last drain is as old), and restores it after. Without it a queue the
// sender keeps would never empty, the least RTT would forget the path's
// own and learn the queue's, and the queue would grow by the target
// every MinRTTWindow. A queue that empties on its own (a lossy path's
// holes, a sender that pauses) keeps the least RTT fresh, and a drain
// would only cost a round trip at half the window and, on a long path,
// a burst when the window comes back. It reports whether this step was
// a drain step (whose RTT measures the drain, not the window).
func (c *Controller) drainStep(now time.Time) bool {
	switch {
	case c.draining:
		c.draining = false
		c.wnd = c.saved
		return true
	case c.phase == PhaseSteady && now.Sub(c.lastDrain) >= MinRTTWindow/2 && now.Sub(c.lastLow) >= MinRTTWindow/2:
		c.draining, c.saved, c.lastDrain = true, c.wnd, now
		c.wnd = max(c.wnd/2, MinWnd)
		return true
	}
	return false
}

// minFilter is the least value added within the last window, kept as the
// least of two half-window buckets (so it forgets a minimum after between
// one half and one whole window).
type minFilter struct {
	window    time.Duration
	cur, prev time.Duration // 0: empty
	curStart  time.Time
}

func (f *minFilter) add(now time.Time, v time.Duration) {
	half := f.window / 2
	switch {
	case f.curStart.IsZero():
		f.curStart = now
	case now.Sub(f.curStart) >= f.window:
		f.prev, f.cur, f.curStart = 0, 0, now
	case now.Sub(f.curStart) >= half:
		f.prev, f.cur, f.curStart = f.cur, 0, now
	}
	if f.cur == 0 || v < f.cur {
		f.cur = v
	}
}

func (f *minFilter) get() time.Duration {
	switch {
	case f.prev == 0:
		return f.cur
	case f.cur == 0:
		return f.prev
	}
	return min(f.cur, f.prev)
}
