package netem

import (
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"
)

const (
	// timerSlop is how much earlier than the deadline a Go timer is armed:
	// Go timers may fire a millisecond or more late (epoll's timeout is in
	// whole milliseconds), so the rest of the wait is slept precisely.
	timerSlop = 2 * time.Millisecond
	// maxPreciseSleep caps one precise sleep so that a newly earlier packet
	// (possible with reordering) or Close is noticed soon.
	maxPreciseSleep = 250 * time.Microsecond
	// maxBatch caps how many due packets are delivered per heap visit.
	maxBatch = 256
)

// Link is one direction of an emulated path: Send decides each packet's
// fate at once and one goroutine delivers the survivors at their scheduled
// times. Send is safe for concurrent use and never blocks on the delivery.
type Link struct {
	spec     Spec
	epoch    time.Time
	deliver  func(*packet) bool // owns the packet from then on; false = the receiver dropped it
	queueNs  int64
	delayNs  int64
	jitterNs int64
	gapNs    int64
	// timersOnly: wait with Go timers alone (see options.timersOnly).
	timersOnly bool

	mu        sync.Mutex
	rng       *rand.Rand
	geBad     bool
	rate      int64   // the bottleneck rate now (Spec.Rate or a phase's)
	loss      float64 // the Bernoulli loss now (Spec.Loss or a phase's)
	started   bool    // the first packet came, at startAt, and started the phases' clock
	startAt   int64
	phase     int   // the next phase in Spec.Phases to begin
	busyUntil int64 // when the bottleneck finishes the packets admitted so far
	lastAt    int64 // delivery time of the last in-order packet
	seq       uint64
	pending   packetHeap
	closed    bool
	sent      DirStats // the counters Send updates

	statsMu   sync.Mutex
	delivered DirStats // the counters the delivery goroutine updates
	hist      latencyHist

	wake      chan struct{}
	done      chan struct{}
	exited    chan struct{}
	closeOnce sync.Once
}

// NewLink starts a link that calls deliver(b, addr) for every packet that
// survives, at its scheduled time, from the link's own goroutine; addr is
// whatever Send was given. b is only valid during the call. deliver must
// not block for long: it delays every packet behind it (and shows up in
// DirStats.Lateness). Options: WithSeed.
func NewLink(spec Spec, deliver func(b []byte, addr net.Addr), opts ...Option) (*Link, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	return newLink(spec, o, 0, func(p *packet) bool {
		deliver(p.b, p.addr)
		freePacket(p)
		return true
	}), nil
}

// newLink starts a link drawing from random stream (o.seed, stream); spec
// must be valid.
func newLink(spec Spec, o options, stream uint64, deliver func(*packet) bool) *Link {
	spec.Phases = slices.Clone(spec.Phases)
	l := &Link{
		spec:       spec,
		timersOnly: o.timersOnly,
		epoch:      time.Now(),
		deliver:    deliver,
		queueNs:    int64(spec.queueOrDefault()),
		delayNs:    int64(spec.Delay),
		jitterNs:   int64(spec.Jitter),
		gapNs:      int64(spec.reorderGapOrDefault()),
		rng:        rand.New(rand.NewPCG(o.seed, stream)),
		rate:       spec.Rate,
		loss:       spec.Loss,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		exited:     make(chan struct{}),
	}
	go l.run()
	return l
}

// Spec returns the link's settings.
func (l *Link) Spec() Spec {
	s := l.spec
	s.Phases = slices.Clone(s.Phases)
	return s
}

// Send offers a copy of b, addressed to addr, to the link. It never blocks
// and reports nothing: like a UDP send, a dropped packet is silently gone
// (the counters in Stats say what happened).
func (l *Link) Send(b []byte, addr net.Addr) { l.send(b, addr, nil) }

func (l *Link) send(b []byte, addr net.Addr, tag any) {
	p := newPacket(b, addr, tag)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		freePacket(p)
		return
	}
	l.sent.In++
	l.sent.BytesIn += uint64(len(b))
	if !l.admit(p, l.now()) {
		l.mu.Unlock()
		freePacket(p)
		return
	}
	l.pending.push(p)
	if l.spec.Duplicate > 0 && l.rng.Float64() < l.spec.Duplicate {
		l.sent.Duplicated++
		c := p.clone()
		c.seq = l.nextSeq()
		l.pending.push(c)
	}
	earliest := l.pending[0] == p
	l.mu.Unlock()
	if earliest {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// admit decides p's fate at time now: it returns false if the queue or the
// loss models drop it, else sets p.at and p.seq. Called with mu held.
func (l *Link) admit(p *packet, now int64) bool {
	l.follow(now)
	depart := now
	if l.rate > 0 {
		start := max(now, l.busyUntil)
		if start-now > l.queueNs {
			l.sent.QueueDrops++
			return false
		}
		l.busyUntil = start + int64(len(p.b))*8*int64(time.Second)/l.rate
		depart = l.busyUntil
	}
	if l.lose() {
		l.sent.LossDrops++
		return false
	}
	at := depart + l.delayNs
	if l.jitterNs > 0 {
		at += l.rng.Int64N(l.jitterNs)
	}
	if l.spec.Reorder > 0 && l.rng.Float64() < l.spec.Reorder {
		l.sent.Reordered++
		p.at = max(at, l.lastAt) + l.gapNs
	} else {
		p.at = max(at, l.lastAt)
		l.lastAt = p.at
	}
	p.seq = l.nextSeq()
	return true
}

// follow starts the phases' clock at the first packet and applies the
// phases begun by now. The queue limit is a time, so it follows the rate.
func (l *Link) follow(now int64) {
	if !l.started {
		l.started, l.startAt = true, now
	}
	for ph := l.spec.Phases; l.phase < len(ph) && now-l.startAt >= int64(ph[l.phase].After); l.phase++ {
		l.rate, l.loss = ph[l.phase].Rate, ph[l.phase].Loss
	}
}

// lose draws the Gilbert-Elliott and Bernoulli loss for one packet.
func (l *Link) lose() bool {
	lost := false
	if g := l.spec.GE; g.Enabled() {
		if l.geBad {
			l.geBad = l.rng.Float64() >= g.R
		} else {
			l.geBad = l.rng.Float64() < g.P
		}
		p := g.LossGood
		if l.geBad {
			p = g.LossBad
		}
		lost = p > 0 && l.rng.Float64() < p
	}
	if l.loss > 0 && l.rng.Float64() < l.loss {
		lost = true
	}
	return lost
}

func (l *Link) nextSeq() uint64 {
	l.seq++
	return l.seq
}

func (l *Link) now() int64 { return int64(time.Since(l.epoch)) }

// run is the link's one delivery goroutine.
func (l *Link) run() {
	defer close(l.exited)
	slop := int64(timerSlop)
	if l.timersOnly {
		slop = 0
	} else {
		lockTimerThread()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]*packet, 0, maxBatch)
	for {
		var wait int64
		batch, wait = l.due(batch[:0])
		if len(batch) > 0 {
			l.deliverAll(batch)
			clear(batch)
			continue
		}
		switch {
		case wait < 0: // nothing pending
			select {
			case <-l.wake:
			case <-l.done:
				return
			}
		case wait > slop:
			timer.Reset(time.Duration(wait - slop))
			select {
			case <-l.wake:
				timer.Stop()
			case <-timer.C:
			case <-l.done:
				timer.Stop()
				return
			}
		default:
			select {
			case <-l.done:
				return
			default:
			}
			preciseSleep(min(time.Duration(wait), maxPreciseSleep))
		}
	}
}

// due pops the packets whose time has come into batch and returns how long
// until the next one is due (-1: none pending).
func (l *Link) due(batch []*packet) ([]*packet, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for len(l.pending) > 0 && l.pending[0].at <= now && len(batch) < maxBatch {
		batch = append(batch, l.pending.pop())
	}
	if len(l.pending) == 0 {
		return batch, -1
	}
	return batch, l.pending[0].at - now
}

func (l *Link) deliverAll(batch []*packet) {
	for _, p := range batch {
		late := time.Duration(l.now() - p.at)
		n := uint64(len(p.b))
		// Count before handing over, so that a receiver that has the
		// packet never sees stats without it; undo if it was dropped.
		l.statsMu.Lock()
		l.hist.record(late)
		l.delivered.Delivered++
		l.delivered.BytesOut += n
		l.statsMu.Unlock()
		if !l.deliver(p) {
			l.statsMu.Lock()
			l.delivered.Delivered--
			l.delivered.BytesOut -= n
			l.delivered.RecvDrops++
			l.statsMu.Unlock()
		}
	}
}

// Stats returns the link's counters and delivery lateness so far.
// Delivered excludes RecvDrops; Lateness.Count includes them.
func (l *Link) Stats() DirStats {
	l.mu.Lock()
	s := l.sent
	l.mu.Unlock()
	l.statsMu.Lock()
	s.Delivered = l.delivered.Delivered
	s.BytesOut = l.delivered.BytesOut
	s.RecvDrops = l.delivered.RecvDrops
	s.Lateness = l.hist.summary()
	l.statsMu.Unlock()
	return s
}

// Close stops the link: packets still in flight are discarded and later
// sends are ignored. It waits for the delivery goroutine to finish, so no
// deliver call happens after Close returns. Close is idempotent.
func (l *Link) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.done)
		<-l.exited
		l.mu.Lock()
		for _, p := range l.pending {
			freePacket(p)
		}
		l.pending = nil
		l.mu.Unlock()
	})
	return nil
}
