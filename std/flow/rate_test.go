package flow

import (
	"math/rand/v2"
	"testing"
	"time"
)

// bottleneck is a packet model of a path: segments queue at a link that
// serves rate segments per second from a drop-tail queue holding buffer's
// worth, a share loss of them is lost at random, and each is acknowledged
// base after it leaves the queue.
type bottleneck struct {
	base   time.Duration
	rate   float64 // segments per second
	buffer time.Duration
	loss   float64
}

// rateSim drives a RateController every 10 ms, as the tunnel does, with
// a sender that always has data (or none, when idle is set).
type rateSim struct {
	c   *RateController
	rng *rand.Rand
	now time.Time

	queue   []time.Time // send times of the queued segments
	served  float64     // fractional service credit
	acks    []ack       // in time order
	budget  float64     // pacing credit, segments
	sent    uint64
	dlvd    uint64
	lost    []time.Time // when the sender learns of each loss: when the next segment's ACK comes
	known   uint64      // losses the sender has learnt of
	blocked time.Duration

	rttSum, rttMin time.Duration
	rttN           int

	// what the run saw
	drops      int
	queueDelay time.Duration // the most any segment queued, after warmup
	queueSum   time.Duration // and the sum, over served segments
	queueN     int
	delivered  uint64 // after warmup
	warm       time.Time
}

type ack struct {
	at  time.Time
	rtt time.Duration
}

const segBytes = 1000

func newRateSim(maxWnd int) *rateSim {
	return &rateSim{
		c:   NewRate(Params{MaxWnd: maxWnd, Interval: 10, SegBytes: segBytes}),
		rng: rand.New(rand.NewPCG(1, 2)),
		now: time.Unix(1e9, 0),
	}
}

func (s *rateSim) inFlight() int { return int(s.sent - s.dlvd - s.known) }

// run simulates d of bulk sending over p, in 1 ms ticks.
func (s *rateSim) run(p bottleneck, d time.Duration, idle bool) {
	const tick = time.Millisecond
	for end := s.now.Add(d); s.now.Before(end); s.now = s.now.Add(tick) {
		// the sender
		dec := s.c.Decision()
		if !idle {
			s.blocked += tick
			n := dec.Wnd - s.inFlight()
			if dec.Pace > 0 {
				s.budget = min(s.budget+dec.Pace/segBytes*tick.Seconds(), dec.Pace/segBytes*0.002+1)
				n = min(n, int(s.budget))
			}
			for range max(n, 0) {
				s.budget--
				s.sent++
				switch {
				case s.rng.Float64() < p.loss:
					s.lost = append(s.lost, s.now.Add(p.base))
				case time.Duration(len(s.queue))*time.Duration(float64(time.Second)/p.rate) > p.buffer:
					s.drops++
					s.lost = append(s.lost, s.now.Add(p.base+time.Duration(len(s.queue))*time.Duration(float64(time.Second)/p.rate)))
				default:
					s.queue = append(s.queue, s.now)
				}
			}
		}
		// the link
		s.served += p.rate * tick.Seconds()
		for s.served >= 1 && len(s.queue) > 0 {
			s.served--
			sentAt := s.queue[0]
			s.queue = s.queue[1:]
			if q := s.now.Sub(sentAt); !s.warm.IsZero() && s.now.After(s.warm) {
				s.queueDelay = max(s.queueDelay, q)
				s.queueSum += q
				s.queueN++
			}
			s.acks = append(s.acks, ack{at: s.now.Add(p.base), rtt: s.now.Sub(sentAt) + p.base})
		}
		if len(s.queue) == 0 {
			s.served = min(s.served, 1)
		}
		// the ACKs and the losses found
		for len(s.acks) > 0 && !s.acks[0].at.After(s.now) {
			a := s.acks[0]
			s.acks = s.acks[1:]
			s.dlvd++
			if !s.warm.IsZero() && s.now.After(s.warm) {
				s.delivered++
			}
			if s.rttN == 0 || a.rtt < s.rttMin {
				s.rttMin = a.rtt
			}
			s.rttSum += a.rtt
			s.rttN++
		}
		for len(s.lost) > 0 && !s.lost[0].After(s.now) {
			s.lost = s.lost[1:]
			s.known++
		}
		if s.now.UnixMilli()%10 == 0 {
			var mean time.Duration
			if s.rttN > 0 {
				mean = s.rttSum / time.Duration(s.rttN)
			}
			s.c.Update(RateSample{Now: s.now, RTT: mean, MinRTT: s.rttMin, Delivered: s.dlvd, Lost: s.known, InFlight: s.inFlight(), Blocked: s.blocked})
			s.rttSum, s.rttMin, s.rttN = 0, 0, 0
		}
	}
}

// measure runs warmup, then d, and returns the delivery rate over d.
func (s *rateSim) measure(p bottleneck, warmup, d time.Duration) float64 {
	s.run(p, warmup, false)
	s.warm, s.delivered, s.queueDelay, s.queueSum, s.queueN, s.drops = s.now, 0, 0, 0, 0, 0
	s.run(p, d, false)
	return float64(s.delivered) / d.Seconds()
}

func TestRateFillsTheLinkWithAShortQueue(t *testing.T) {
	for _, p := range []bottleneck{
		{base: 80 * time.Millisecond, rate: 4000, buffer: 100 * time.Millisecond},  // lossy's size
		{base: 200 * time.Millisecond, rate: 1500, buffer: 100 * time.Millisecond}, // bad's
		{base: 600 * time.Millisecond, rate: 700, buffer: 100 * time.Millisecond},  // satellite's
		{base: 2 * time.Millisecond, rate: 30000, buffer: 20 * time.Millisecond},   // a fast short path
	} {
		s := newRateSim(1 << 14)
		got := s.measure(p, 10*time.Second, 10*time.Second)
		if got < 0.9*p.rate {
			t.Errorf("%v %v/s: delivered %.0f/s, want ≥ 90 %% of the link", p.base, p.rate, got)
		}
		if s.drops > 0 {
			t.Errorf("%v %v/s: %d queue drops in steady state, want none", p.base, p.rate, s.drops)
		}
		// The window leaves an interval (10 ms) for ACKs a receiver holds;
		// this one holds none, so that too can queue.
		if mean, limit := s.queueSum/time.Duration(max(s.queueN, 1)), probeQueue(p.base)+10*time.Millisecond; mean > limit {
			t.Errorf("%v %v/s: segments queued %v on average, want ≤ %v", p.base, p.rate, mean, limit)
		}
		if st := s.c.State(); st.Phase != PhaseProbe {
			t.Errorf("%v %v/s: phase %s after 20 s, want %s", p.base, p.rate, st.Phase, PhaseProbe)
		}
	}
}

// A loss-based sender halves its window at each loss; at 10 % loss it
// crawls. This one keeps most of what the link delivers.
func TestRandomLossDoesNotCollapseIt(t *testing.T) {
	for _, loss := range []float64{0.02, 0.10, 0.20} {
		p := bottleneck{base: 200 * time.Millisecond, rate: 1500, buffer: 100 * time.Millisecond, loss: loss}
		s := newRateSim(1 << 14)
		got := s.measure(p, 10*time.Second, 10*time.Second)
		if want := 0.75 * p.rate * (1 - loss); got < want {
			t.Errorf("loss %.0f %%: delivered %.0f/s, want ≥ %.0f (75 %% of what the link delivers)", loss*100, got, want)
		}
	}
}

func TestStartupStopsBeforeAShallowQueueOverflowsMuch(t *testing.T) {
	// satellite: a 100 ms queue behind a 600 ms path
	p := bottleneck{base: 600 * time.Millisecond, rate: 700, buffer: 100 * time.Millisecond}
	s := newRateSim(1 << 14)
	s.run(p, 15*time.Second, false)
	if lostShare := float64(s.drops) / float64(s.sent); lostShare > 0.05 {
		t.Errorf("startup overflowed the queue: %d of %d segments dropped (%.1f %%), want ≤ 5 %%", s.drops, s.sent, lostShare*100)
	}
	if got := s.c.Rate(); got < 0.8*p.rate || got > 1.3*p.rate {
		t.Errorf("rate estimate %.0f/s, want near the link's %v/s", got, p.rate)
	}
}

func TestAFallingLinkRateIsFollowed(t *testing.T) {
	fast := bottleneck{base: 80 * time.Millisecond, rate: 5000, buffer: 100 * time.Millisecond}
	slow := fast
	slow.rate = 1000
	s := newRateSim(1 << 14)
	s.run(fast, 10*time.Second, false)
	s.run(slow, 3*time.Second, false)
	if got := s.c.Rate(); got > 1.3*slow.rate {
		t.Errorf("3 s after the link fell to %v/s the estimate is %.0f/s, want ≤ 1.3 × that", slow.rate, got)
	}
	got := s.measure(slow, 0, 5*time.Second)
	if got < 0.85*slow.rate || s.drops > 0 {
		t.Errorf("after the fall: delivered %.0f/s with %d queue drops, want ≥ 85 %% of %v/s and none", got, s.drops, slow.rate)
	}
	s.run(fast, 5*time.Second, false)
	if got := s.c.Rate(); got < 0.8*fast.rate {
		t.Errorf("5 s after the link came back to %v/s the estimate is %.0f/s, want ≥ 0.8 × that", fast.rate, got)
	}
}

func TestAnIdleSenderIsNotPacedAndKeepsItsRate(t *testing.T) {
	p := bottleneck{base: 80 * time.Millisecond, rate: 4000, buffer: 100 * time.Millisecond}
	s := newRateSim(1 << 14)
	s.run(p, 10*time.Second, false)
	if d := s.c.Decision(); d.Pace <= 0 {
		t.Fatalf("a bulk sender is not paced: %+v", d)
	}
	before := s.c.Rate()
	s.run(p, 5*time.Second, true)
	d := s.c.Decision()
	if d.Pace != 0 {
		t.Errorf("an idle sender is paced at %.0f B/s, want none (interactive writes go at once)", d.Pace)
	}
	if got := s.c.Rate(); got < 0.9*before {
		t.Errorf("idle for 5 s the rate estimate fell from %.0f to %.0f/s; it should hold", before, got)
	}
	if d.Interval != 10 {
		t.Errorf("interval %d while idle, want the configured 10", d.Interval)
	}
}

func TestRateDecisionBeforeAnyACK(t *testing.T) {
	c := NewRate(Params{MaxWnd: 20, Interval: 10, SegBytes: segBytes})
	if d := c.Decision(); d.Wnd != 20 || d.Pace != 0 || d.Interval != 10 {
		t.Errorf("first decision %+v, want the window capped at 20, unpaced, interval 10", d)
	}
	if d, changed := c.Update(RateSample{Now: time.Unix(1, 0)}); changed || d.Wnd != 20 {
		t.Errorf("a sample with no RTT changed the decision to %+v", d)
	}
}

// feed drives c with a sender that has delivered rate segments per second
// and sees RTTs of rtt, every 10 ms for d.
func feed(c *RateController, now *time.Time, delivered *uint64, rate float64, rtt time.Duration, d time.Duration) {
	const tick = 10 * time.Millisecond
	var blocked time.Duration
	for end := now.Add(d); now.Before(end); *now = now.Add(tick) {
		*delivered += uint64(rate * tick.Seconds())
		blocked += tick
		c.Update(RateSample{Now: *now, RTT: rtt, MinRTT: rtt, Delivered: *delivered, InFlight: 100, Blocked: blocked})
	}
}

// RTT samples a busy host delays look like a standing queue; while the
// peer still receives about as much as before, the rate estimate stays.
// When it receives clearly less, the estimate follows at once.
func TestAQueueAloneDoesNotCutTheRate(t *testing.T) {
	c := NewRate(Params{MaxWnd: 1 << 14, Interval: 10, SegBytes: segBytes})
	now, delivered := time.Unix(1e9, 0), uint64(0)
	feed(c, &now, &delivered, 2000, 50*time.Millisecond, 3*time.Second)
	before := c.Rate()
	if before < 1900 {
		t.Fatalf("rate %.0f/s after 3 s at 2000/s", before)
	}
	// 70 ms of "queue" and 95 % delivered for 6 round trips, fewer than
	// the rate filter's 10: the most delivered is still the earlier rate.
	feed(c, &now, &delivered, 1900, 120*time.Millisecond, 300*time.Millisecond)
	if got := c.Rate(); got < before {
		t.Errorf("a queue with 95 %% still delivered cut the rate from %.0f to %.0f/s", before, got)
	}
	// The link halved: within five round trips, before the filter would
	// have let the earlier rate go by itself.
	feed(c, &now, &delivered, 1000, 120*time.Millisecond, 250*time.Millisecond)
	if got := c.Rate(); got > 1100 {
		t.Errorf("a queue with half delivered left the rate at %.0f/s, want ≈ 1000", got)
	}
}
