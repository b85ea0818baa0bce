package flow

import (
	"math/rand/v2"
	"testing"
	"time"
)

// path is a fluid model of a bottleneck link: a sender that keeps wnd
// segments in flight sees an RTT of base, or wnd/rate when that is more
// (the rest waits in the bottleneck's queue). With ackEvery set, the
// receiver sends its ACKs on a timer of that period unless a packet's
// worth (ackClock) are pending, as kcp-go does: a window smaller than
// that never has them pending, and sees the timer's delay too.
type path struct {
	base     time.Duration
	rate     float64 // segments per second
	ackEvery time.Duration
}

const ackClock = 57 // ACKs in one packet at kcptun's MTU (1350 / 24 bytes)

func (p path) bdp() float64 { return p.rate * p.base.Seconds() }

func (p path) rtt(wnd int) time.Duration {
	rtt := max(p.base, time.Duration(float64(wnd)/p.rate*float64(time.Second)))
	if wnd < ackClock {
		rtt += p.ackEvery * 7 / 10 // as measured on the loopback at interval 10 ms: 7 ms
	}
	return rtt
}

// sim drives c every 10 ms for d, as the tunnel does, with a sender that
// is window-limited when busy; noise, when set, adds to an RTT sample.
type sim struct {
	c       *Controller
	now     time.Time
	blocked time.Duration
	srtt    time.Duration
	acks    int           // RTT samples (ACKs) per tick; 0: 3
	silent  time.Duration // for this long no ACK arrives: the smoothed RTT stands still
	// bottleneck, when set, is what each Sample says of the bottleneck's
	// rate while the sender is busy, given the window.
	bottleneck func(wnd int) float64
	// lag, when set, makes each RTT sample that of the window this long
	// ago, as on a real path: a segment's ACK comes back a round trip
	// after it left (and the receiver holds it up to its interval), so
	// the queue a larger window makes shows a round trip late.
	lag  time.Duration
	past []int // the window at each tick, for lag
}

func newSim(p Params) *sim {
	return &sim{c: New(p), now: time.Unix(1e9, 0)}
}

func (s *sim) run(p path, d time.Duration, busy bool, noise func() time.Duration) {
	const tick = 10 * time.Millisecond
	for end := s.now.Add(d); s.now.Before(end); s.now = s.now.Add(tick) {
		if busy {
			s.blocked += tick
		}
		sample := p.rtt(s.windowAgo(tick))
		if noise != nil {
			sample += noise()
		}
		// kcp-go smooths its RTT with a gain of 1/8 per ACK; a few ACK
		// packets arrive per tick.
		if s.srtt == 0 {
			s.srtt = sample
		}
		acks := s.acks
		if s.silent > 0 {
			s.silent -= tick
			acks = -1
		}
		if acks == 0 {
			acks = 3
		}
		for range max(acks, 0) {
			s.srtt += (sample - s.srtt) / 8
		}
		sm := Sample{Now: s.now, SRTT: s.srtt, Blocked: s.blocked}
		if busy && s.bottleneck != nil {
			sm.Bottleneck = s.bottleneck(s.c.Decision().Wnd)
		}
		s.c.Update(sm)
	}
}

// windowAgo records the window of this tick and returns the one whose
// segments' ACKs arrive now: s.lag ago.
func (s *sim) windowAgo(tick time.Duration) int {
	wnd := s.c.Decision().Wnd
	s.past = append(s.past, wnd)
	if back := int(s.lag / tick); len(s.past) > back {
		return s.past[len(s.past)-1-back]
	}
	return wnd
}

// On a short path a small window's RTT carries the receiver's ACK timer
// (its interval), which no window change removes, while the least RTT
// came from an exchange whose ACKs rode on its replies. The window must
// grow until the ACKs fill packets and come at once, not read the timer
// as a queue and stand at MinWnd (on the loopback: 56 Mbit/s in place
// of 350 for the 10 s the least RTT is remembered).
func TestTheACKTimerOfASmallWindowIsNoQueue(t *testing.T) {
	p := path{base: time.Millisecond, rate: 30000, ackEvery: 10 * time.Millisecond} // the loopback at fast3
	s := newSim(Params{MaxWnd: 4096, Interval: 10})
	s.acks = InitWnd                                                          // the window's ACKs come together, on the timer
	s.run(path{base: p.base, rate: p.rate}, 200*time.Millisecond, false, nil) // request and reply: 1 ms
	s.run(p, 30*time.Millisecond, false, nil)                                 // the first window goes out
	s.run(p, 2*time.Second, true, nil)
	wnd := s.c.Decision().Wnd
	if got := float64(wnd) / p.rtt(wnd).Seconds(); got < p.rate/2 {
		st := s.c.State()
		t.Errorf("after 2 s window %d moves %.0f seg/s, want ≥ half the path's %.0f (RTT %v, least %v, target %v)", wnd, got, p.rate, p.rtt(wnd), st.MinRTT, st.Target)
	}
}

// A download that starts on a session whose smoothed RTT still carries
// a late ACK from its idle time (here 50 ms over a 600 ms path) sees that
// RTT for its whole first round trip, as no ACK of its own has come
// back yet. Startup must not take it for a queue and leave at the
// initial window: it holds for a round trip and goes on when the queue
// is gone. (Satellite on the bench: startup left at 32 segments and the
// window took 18 s to reach the path's 430.)
func TestStartupOutlastsAStaleRTT(t *testing.T) {
	p := path{base: 600 * time.Millisecond, rate: 712} // the bench's satellite link, data segments
	s := newSim(Params{MaxWnd: 4096, Interval: 10})
	s.run(p, 3*time.Second, false, nil) // idle probes
	s.srtt = p.base + 50*time.Millisecond
	s.silent = p.base
	s.run(p, 5*time.Second, true, nil)
	if wnd, bdp := s.c.Decision().Wnd, p.bdp(); float64(wnd) < 0.8*bdp {
		st := s.c.State()
		t.Errorf("5 s into the download: window %d (%s), want ≥ 0.8 × the BDP %.0f", wnd, st.Phase, bdp)
	}
}

// A download's first window goes out at once, so the last of its packets
// wait behind the first at the bottleneck: on a 10 Mbit/s path 32
// segments (and their parity) queue 45 ms at the end and 22 ms on
// average, more than a 600 ms path's 15 ms target (later windows go out
// as the paced writer and the ACKs release them: 0–20 ms of noise, as
// traced on the bench's satellite link). Knowing the bottleneck's rate
// from the ACKs, startup must not take that for a queue, and it must
// stop at the BDP rather than overshoot it by a round trip's doubling.
// Without the rate it stops on that burst (startup left at 32 segments
// on the bench, and the window took 10 s to reach the path's 430).
func TestStartupSeesPastItsOwnBurstsToTheBDP(t *testing.T) {
	p := path{base: 600 * time.Millisecond, rate: 712} // the bench's satellite link, data segments
	for _, known := range []bool{true, false} {
		s := newSim(Params{MaxWnd: 4096, Interval: 10})
		if known {
			s.bottleneck = func(int) float64 { return p.rate }
		}
		rng := rand.New(rand.NewPCG(1, 2))
		burst := func() time.Duration {
			if s.c.Decision().Wnd == InitWnd { // the first window's data and parity at the bottleneck, sampled anywhere in it
				return time.Duration(rng.Float64() * InitWnd / p.rate * float64(time.Second))
			}
			return time.Duration(rng.Float64() * float64(20*time.Millisecond))
		}
		most := 0
		for range 50 { // 5 s
			s.run(p, 100*time.Millisecond, true, burst)
			most = max(most, s.c.Decision().Wnd)
		}
		st := s.c.State()
		switch {
		case known && (float64(st.Wnd) < 0.8*p.bdp() || float64(most) > 1.15*p.bdp()):
			t.Errorf("rate known: 5 s into the download window %d (%s, most %d), want 0.8–1.15 × the BDP %.0f", st.Wnd, st.Phase, most, p.bdp())
		case !known && st.Phase != PhaseSteady:
			t.Errorf("rate unknown: phase %s after 5 s, want %s (the queue ends startup)", st.Phase, PhaseSteady)
		}
	}
}

// A paced sender's ACKs come at its pace, not the bottleneck's: a rate
// that says no more than the window's own must not stop startup there.
func TestStartupOutgrowsARateThatIsItsOwnPace(t *testing.T) {
	p := path{base: 600 * time.Millisecond, rate: 712}
	s := newSim(Params{MaxWnd: 4096, Interval: 10})
	s.bottleneck = func(wnd int) float64 { return min(p.rate, paceGain*float64(wnd)/p.base.Seconds()) }
	s.run(p, 5*time.Second, true, nil)
	if wnd := float64(s.c.State().Wnd); wnd < 0.8*p.bdp() {
		t.Errorf("window %v after 5 s, want ≥ 0.8 × the BDP %.0f", wnd, p.bdp())
	}
}

// The first trains of a download can read far below the path (on the
// bench's lossy link 1.8k segments/s against 3.6k, at a window of 256
// that had doubled before any train was read). A BDP below the window
// holds it: startup must not cut the window to that reading, and must
// go on to the path's BDP once the trains read the bottleneck.
func TestStartupHoldsTheWindowOnALowFirstReading(t *testing.T) {
	p := path{base: 86 * time.Millisecond, rate: 3600} // lossy: 50 Mbit/s less FEC 10/3
	s := newSim(Params{MaxWnd: 1024, Interval: 10})
	s.lag = p.base + 40*time.Millisecond
	reads := 0
	s.bottleneck = func(wnd int) float64 {
		switch {
		case wnd < 256:
			return 0 // no train read yet
		case reads < 10: // the first trains, over 100 ms
			reads++
			return p.rate / 2
		}
		return p.rate
	}
	most := 0
	for range 30 { // 3 s
		s.run(p, 100*time.Millisecond, true, nil)
		st := s.c.State()
		if st.Phase == PhaseStartup && st.Wnd < most {
			t.Fatalf("startup cut the window from %d to %d on a low reading", most, st.Wnd)
		}
		most = max(most, st.Wnd)
	}
	if st := s.c.State(); float64(st.Wnd) < p.bdp() {
		t.Errorf("after 3 s: window %d (%s), want ≥ the BDP %.0f", st.Wnd, st.Phase, p.bdp())
	}
}

// The queue a doubled window makes shows a round trip late, when the
// window has doubled again; the ACK trains tell the bottleneck's rate
// before that. Startup must not take the window past what keeps a
// queue within kcp-go's retransmission timeout's margin (in bulk, half
// the RTT): beyond it the RTT outgrows the timeout within a round trip
// and the whole flight is sent again. (The bench's lossy link, fast3: the
// window went 256 → 512 → 1024 against a BDP of 310 segments, the
// 100 ms queue overflowed, 1.2k segments were resent, and the probes'
// RTT doubled for half a second: the p99 of the whole download.)
func TestStartupStopsDoublingPastTheBottlenecksBDP(t *testing.T) {
	p := path{base: 86 * time.Millisecond, rate: 3600} // lossy: 50 Mbit/s less FEC 10/3
	s := newSim(Params{MaxWnd: 1024, Interval: 10})
	s.lag = p.base + 40*time.Millisecond               // the receiver's interval in bulk: half the RTT
	s.bottleneck = func(int) float64 { return p.rate } // the window's bursts go at line rate
	most := 0
	for range 30 { // 3 s
		s.run(p, 100*time.Millisecond, true, nil)
		most = max(most, s.c.Decision().Wnd)
	}
	if limit := 1.3 * p.bdp(); float64(most) > limit {
		t.Errorf("startup's window reached %d, want ≤ %.0f (1.3 × the BDP %.0f: a queue within kcp-go's RTO margin)", most, limit, p.bdp())
	}
	if st := s.c.State(); float64(st.Wnd) < p.bdp() || st.Phase != PhaseSteady {
		t.Errorf("after 3 s: window %d (%s), want ≥ the BDP %.0f, steady", st.Wnd, st.Phase, p.bdp())
	}
}

func TestWindowSettlesAtThePathBDPWithAShortQueue(t *testing.T) {
	for _, p := range []path{
		{base: 80 * time.Millisecond, rate: 3000},  // the bench's lossy link, data segments
		{base: 200 * time.Millisecond, rate: 1400}, // bad
		{base: 2 * time.Millisecond, rate: 40000},  // a fast, short path
	} {
		s := newSim(Params{MaxWnd: 1024, Interval: 10})
		s.run(p, 20*time.Second, true, nil)
		st := s.c.State()
		wnd := float64(st.Wnd)
		if bdp := p.bdp(); wnd < bdp || wnd > bdp+2*st.Target.Seconds()*p.rate+float64(MinWnd) {
			t.Errorf("%v at %v seg/s: window %v, want between the BDP %.0f and BDP + 2 × target (%v) of queue", p.base, p.rate, wnd, bdp, st.Target)
		}
		if st.QDelay > 2*st.Target {
			t.Errorf("%v: queueing delay %v, want ≤ 2 × target %v", p.base, st.QDelay, st.Target)
		}
		if st.Phase != PhaseSteady {
			t.Errorf("%v: phase %s after 20 s of bulk, want %s", p.base, st.Phase, PhaseSteady)
		}
	}
}

func TestLateACKsOfALossyPathDoNotCollapseTheWindow(t *testing.T) {
	// One ACK in ten is 40–80 ms late (a repaired loss, an ACK recovered
	// by FEC): noise, not a queue.
	p := path{base: 200 * time.Millisecond, rate: 1400}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func() time.Duration {
		if rng.IntN(10) == 0 {
			return time.Duration(40+rng.IntN(40)) * time.Millisecond
		}
		return time.Duration(rng.IntN(5)) * time.Millisecond
	}
	s := newSim(Params{MaxWnd: 1024, Interval: 10})
	s.run(p, 30*time.Second, true, noise)
	if w, bdp := s.c.State().Wnd, p.bdp(); float64(w) < 0.7*bdp {
		t.Errorf("window %d, want ≥ 0.7 × BDP %.0f: noise collapsed it", w, bdp)
	}
}

func TestAnApplicationLimitedSenderKeepsItsWindow(t *testing.T) {
	p := path{base: 80 * time.Millisecond, rate: 3000}
	s := newSim(Params{MaxWnd: 1024, Interval: 10})
	s.run(p, 5*time.Second, false, nil)
	st := s.c.State()
	if st.Wnd != InitWnd || st.Phase != PhaseStartup {
		t.Errorf("idle sender: window %d phase %s, want %d %s", st.Wnd, st.Phase, InitWnd, PhaseStartup)
	}
	if d := s.c.Decision(); d.Interval != 10 {
		t.Errorf("idle sender: interval %d, want the configured 10", d.Interval)
	}
}

func TestBulkWidensTheIntervalAndIdleRestoresIt(t *testing.T) {
	for _, tc := range []struct {
		base time.Duration
		want int
	}{
		{80 * time.Millisecond, 80},   // the RTT
		{5 * time.Millisecond, 30},    // 3 × the configured 10 ms
		{600 * time.Millisecond, 100}, // capped
	} {
		p := path{base: tc.base, rate: 20000} // fast enough that the least RTT is the path's
		s := newSim(Params{MaxWnd: 1024, Interval: 10})
		s.run(p, 3*time.Second, true, nil)
		if d := s.c.Decision(); d.Interval != tc.want {
			t.Errorf("RTT %v, bulk: interval %d, want %d", tc.base, d.Interval, tc.want)
		}
		s.run(p, BulkHold+2*tc.base+100*time.Millisecond, false, nil)
		if d := s.c.Decision(); d.Interval != 10 {
			t.Errorf("RTT %v, idle again: interval %d, want 10", tc.base, d.Interval)
		}
		if s.c.State().Bulk {
			t.Errorf("RTT %v: State().Bulk still set", tc.base)
		}
	}
}

func TestAPathThatGetsLongerIsRelearned(t *testing.T) {
	// A route change doubles the RTT. The old minimum would read the new
	// RTT as queue and shrink the window to nothing; it must be
	// forgotten within MinRTTWindow.
	s := newSim(Params{MaxWnd: 1024, Interval: 10})
	s.run(path{base: 80 * time.Millisecond, rate: 3000}, 10*time.Second, true, nil)
	long := path{base: 160 * time.Millisecond, rate: 3000}
	s.run(long, MinRTTWindow+20*time.Second, true, nil)
	st := s.c.State()
	if st.MinRTT < long.base-time.Millisecond {
		t.Errorf("min RTT %v, want the new path's %v", st.MinRTT, long.base)
	}
	if w := float64(st.Wnd); w < 0.9*long.bdp() {
		t.Errorf("window %v, want ≥ 0.9 × the new BDP %.0f", w, long.bdp())
	}
}

func TestPaceSpreadsTheWindowOverTheRTT(t *testing.T) {
	s := newSim(Params{MaxWnd: 1024, Interval: 10, SegBytes: 1298})
	p := path{base: 100 * time.Millisecond, rate: 2000}
	s.run(p, 10*time.Second, true, nil)
	d, st := s.c.Decision(), s.c.State()
	want := paceGain * float64(d.Wnd) * 1298 / st.MinRTT.Seconds()
	if d.Pace < 0.99*want || d.Pace > 1.01*want+paceGain*1298/st.MinRTT.Seconds() {
		t.Errorf("pace %.0f B/s, want %.0f (%v × window %d × 1298 B / %v)", d.Pace, want, paceGain, d.Wnd, st.MinRTT)
	}
	if New(Params{MaxWnd: 100}).Decision().Pace != 0 {
		t.Error("pace set before any RTT was measured")
	}
}

func TestParamsDefaultsAndLimits(t *testing.T) {
	c := New(Params{MaxWnd: 8})
	if d := c.Decision(); d.Wnd != MinWnd || d.Interval != 10 {
		t.Errorf("MaxWnd below MinWnd: decision %+v, want window %d interval 10", d, MinWnd)
	}
	s := newSim(Params{MaxWnd: 64, Interval: 10})
	s.run(path{base: 100 * time.Millisecond, rate: 5000}, 5*time.Second, true, nil)
	if w := s.c.State().Wnd; w != 64 {
		t.Errorf("window %d on a path with a larger BDP, want the configured 64", w)
	}
}

// TestOverflowCutsTheWindow: many segments sent again while a queue of
// more than twice the target stands is an overflowing queue: the window
// is cut at once. The same loss with no queue (a lossy link) is not.
func TestOverflowCutsTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		queue time.Duration
		cut   bool
	}{{"standing queue", 60 * time.Millisecond, true}, {"no queue", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Params{MaxWnd: 4096, Interval: 10})
			now := time.Unix(0, 0)
			base := 600 * time.Millisecond
			var blocked time.Duration
			var out, retrans uint64
			feed := func(rtt time.Duration, resent float64) Decision {
				var d Decision
				for range 200 { // 2 s: at least two steps, sampled every 10 ms
					now = now.Add(10 * time.Millisecond)
					blocked += 10 * time.Millisecond
					out += 100
					retrans += uint64(100 * resent)
					d, _ = c.Update(Sample{Now: now, SRTT: rtt, Blocked: blocked, Out: out, Retrans: retrans})
				}
				return d
			}
			for range 10 {
				feed(base, 0) // startup: the window grows
			}
			before := feed(base+tc.queue, 0).Wnd
			after := feed(base+tc.queue, 0.2).Wnd
			if cut := float64(after) <= 0.75*float64(before); cut != tc.cut {
				t.Errorf("window %d → %d with 20 %% sent again, queue %v: cut %v, want %v", before, after, tc.queue, cut, tc.cut)
			}
		})
	}
}

// TestALongPathFillsInFewRoundTrips: with no queue the window grows
// faster each round trip in a row (up to +20 %), so a 600 ms path whose
// window starts at a quarter of its BDP reaches it in well under 20
// round trips, where +5 % each would take 28.
func TestALongPathFillsInFewRoundTrips(t *testing.T) {
	p := path{base: 600 * time.Millisecond, rate: 1000} // BDP 600
	s := newSim(Params{MaxWnd: 4096, Interval: 10})
	s.run(p, 3*time.Second, true, nil)
	s.c.phase, s.c.wnd = PhaseSteady, 150 // as after a cut
	s.run(p, 12*time.Second, true, nil)   // 20 round trips
	if w := s.c.State().Wnd; float64(w) < 0.9*p.bdp() {
		t.Errorf("window %d after 20 round trips from 150, want ≥ 0.9 × BDP %.0f", w, p.bdp())
	}
}

// The periodic drain empties a queue the sender itself keeps, so that the
// least RTT stays the path's; where the queue empties on its own now and
// then, it is not needed, and it would halve the window for a round trip
// every few seconds.
func TestDrainOnlyWhenTheQueueNeverEmpties(t *testing.T) {
	const base = 200 * time.Millisecond
	for _, tc := range []struct {
		name   string
		empty  bool // one step in four sees the path's own RTT
		drains bool
	}{{"standing queue", false, true}, {"queue that empties", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Params{MaxWnd: 1024, Interval: 10})
			now, blocked := time.Unix(1e9, 0), time.Duration(0)
			feed := func(rtt time.Duration, steps int) (least int) {
				least = 1 << 30
				for range steps {
					for range 20 { // a step is a round trip of 10 ms samples
						now, blocked = now.Add(10*time.Millisecond), blocked+10*time.Millisecond
						c.Update(Sample{Now: now, SRTT: rtt, Blocked: blocked})
					}
					least = min(least, c.State().Wnd)
				}
				return least
			}
			feed(base, 5)                     // start-up
			feed(base+40*time.Millisecond, 3) // a queue: steady
			if c.State().Phase != PhaseSteady {
				t.Fatalf("phase %s, want steady", c.State().Phase)
			}
			high, least := c.State().Wnd, 1<<30
			for i := range 120 { // 24 s
				rtt := base + 15*time.Millisecond
				if tc.empty && i%4 == 0 {
					rtt = base
				}
				least = min(least, feed(rtt, 1))
			}
			if drained := least <= high*6/10; drained != tc.drains {
				t.Errorf("least window %d against %d before: drained %v, want %v", least, high, drained, tc.drains)
			}
		})
	}
}

// After startup overshoots, the smoothed RTT carries the queue it made
// for several round trips after the window that made it is gone (here
// 80 ms more over a 120 ms path for 0.6 s). Meanwhile the ACK trains
// read the bottleneck's rate, and the window must not shrink below what
// that rate keeps in flight: under it the path idles while the window
// grows back (on the bench's bursty link three cuts in a row left it at
// two thirds of the BDP, and it took 1.5 s to grow back). Without the
// rate it does shrink, as before.
func TestALaggingRTTDoesNotShrinkTheWindowBelowTheBottlenecksBDP(t *testing.T) {
	p := path{base: 120 * time.Millisecond, rate: 2200} // the bench's bursty link at 3 parity shards, data segments
	for _, known := range []bool{true, false} {
		s := newSim(Params{MaxWnd: 4096, Interval: 10})
		if known {
			s.bottleneck = func(wnd int) float64 { return min(p.rate, paceGain*float64(wnd)/p.base.Seconds()) }
		}
		s.run(p, 5*time.Second, true, nil)
		elapsed := time.Duration(0)
		late := func() time.Duration {
			elapsed += 10 * time.Millisecond
			if elapsed <= 600*time.Millisecond {
				return 80 * time.Millisecond
			}
			return 0
		}
		least := s.c.State().Wnd
		for range 20 {
			s.run(p, 50*time.Millisecond, true, late)
			least = min(least, s.c.State().Wnd)
		}
		if low := float64(least) < 0.95*p.bdp(); low == known {
			t.Errorf("rate known %v: the window fell to %d against a BDP of %.0f", known, least, p.bdp())
		}
	}
}

// The floor follows the rate down: when the link slows to a fifth, the
// trains read the new rate, and the window comes down to the new BDP.
func TestTheFloorFollowsASlowerLink(t *testing.T) {
	fast := path{base: 80 * time.Millisecond, rate: 4500} // the bench's changing link, 50 Mbit/s
	slow := path{base: fast.base, rate: fast.rate / 5}
	cur := fast
	s := newSim(Params{MaxWnd: 4096, Interval: 10})
	s.bottleneck = func(wnd int) float64 { return min(cur.rate, paceGain*float64(wnd)/cur.base.Seconds()) }
	s.run(cur, 5*time.Second, true, nil)
	cur = slow
	s.run(cur, 2*time.Second, true, nil)
	st := s.c.State()
	if most := slow.bdp() + 2*st.Target.Seconds()*slow.rate + MinWnd; float64(st.Wnd) > most {
		t.Errorf("2 s after the link slowed to a fifth: window %d, want ≤ %.0f (BDP %.0f and a short queue)", st.Wnd, most, slow.bdp())
	}
}
