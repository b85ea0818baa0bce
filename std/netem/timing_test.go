package netem

import (
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// The model tests in this file (delay, jitter, rate, queue) run under
// testing/synctest: the link's clock is the bubble's fake clock, so the
// schedule it computes can be checked exactly, instantly, and whatever the
// load on the machine. How precisely the real clock keeps that schedule is
// TestLatenessIsSmallAt10kPacketsPerSecond's business, and the wrapped
// socket and relay tests check real delays end to end.

// withTimersOnly lets a link run inside a synctest bubble.
func withTimersOnly() Option { return func(o *options) { o.timersOnly = true } }

// virtualTimeout bounds waits in a bubble, where time is free.
const virtualTimeout = time.Hour

func TestDelayAndJitterDistribution(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n      = 2000
			delay  = 10 * time.Millisecond
			jitter = 4 * time.Millisecond
			gap    = 5 * time.Millisecond // > jitter: the no-reordering rule never holds a packet
		)
		c := newCollector()
		l := newTestLink(t, Spec{Delay: delay, Jitter: jitter}, c.deliver, WithSeed(6), withTimersOnly())
		tick := time.NewTicker(gap)
		defer tick.Stop()
		sent := make([]time.Time, n)
		for i := range n {
			<-tick.C
			sent[i] = time.Now()
			l.Send(seqPacket(uint64(i), 64), nil)
		}
		got := c.waitFor(t, n, virtualTimeout)

		extra := make([]time.Duration, n) // one-way delay beyond Delay
		for i, a := range got {
			extra[i] = a.at.Sub(sent[a.seq]) - delay
			if extra[i] < 0 || extra[i] >= jitter {
				t.Fatalf("packet %d took %v, want within [%v, %v)", a.seq, delay+extra[i], delay, delay+jitter)
			}
		}
		// Uniform on [0, 4 ms): median 2 ms, quartiles 1 ms and 3 ms.
		s := durationsSorted(extra)
		const tol = 200 * time.Microsecond // > 4 standard errors for 2000 samples
		if med := quantile(s, 0.5); med < jitter/2-tol || med > jitter/2+tol {
			t.Errorf("median delay %v, want %v ± %v", delay+med, delay+jitter/2, tol)
		}
		if iqr := quantile(s, 0.75) - quantile(s, 0.25); iqr < jitter/2-tol || iqr > jitter/2+tol {
			t.Errorf("interquartile range of the delay %v, want %v ± %v (uniform jitter)", iqr, jitter/2, tol)
		}
		if lo, hi := quantile(s, 0.01), quantile(s, 0.99); lo > jitter/20 || hi < jitter*19/20 {
			t.Errorf("jitter 1st..99th percentile %v..%v, want it to span ≈ 0..%v", lo, hi, jitter)
		}
	})
}

func TestRateLimitThroughput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			rate = 20e6 // bits/s
			n    = 500
			size = 1250 // 0.5 ms each at 20 Mbit/s: the burst drains in 250 ms
		)
		c := newCollector()
		l := newTestLink(t, Spec{Rate: rate, Queue: time.Second}, c.deliver, withTimersOnly())
		start := time.Now()
		sendSeq(l, n, size)
		got := c.waitFor(t, n, virtualTimeout)

		tx := time.Duration(size * 8 * float64(time.Second) / rate)
		for i, a := range got {
			if want := time.Duration(i+1) * tx; a.seq != uint64(i) || a.at.Sub(start) != want {
				t.Fatalf("delivery %d: packet %d after %v, want packet %d after %v", i, a.seq, a.at.Sub(start), i, want)
			}
		}
		span := got[n-1].at.Sub(got[0].at)
		if bps := float64((n-1)*size*8) / span.Seconds(); bps < 0.999*rate || bps > 1.001*rate {
			t.Errorf("throughput %.3f Mbit/s, want %.0f", bps/1e6, rate/1e6)
		}
		if st := l.Stats(); st.QueueDrops != 0 {
			t.Errorf("%d queue drops with a queue longer than the burst", st.QueueDrops)
		}
	})
}

func TestQueueBoundDropsTailAndCapsQueueingDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			rate  = 10e6
			size  = 1250 // 1 ms each at 10 Mbit/s
			queue = 20 * time.Millisecond
			n     = 100
			tx    = time.Millisecond
		)
		c := newCollector()
		l := newTestLink(t, Spec{Rate: rate, Queue: queue}, c.deliver, withTimersOnly())
		sent := sendSeq(l, n, size)
		// The first packet goes straight onto the wire and 20 more fit in
		// 20 ms of queue; the rest of the burst is dropped.
		const accepted = 21
		if st := l.Stats(); st.QueueDrops != n-accepted {
			t.Fatalf("dropped %d of a %d-packet burst into a %v queue, want %d", st.QueueDrops, n, queue, n-accepted)
		}
		got := c.waitFor(t, accepted, virtualTimeout)
		var worst time.Duration
		for i, a := range got {
			if a.seq != uint64(i) {
				t.Fatalf("delivery %d was packet %d: drop-tail must keep the head of the burst", i, a.seq)
			}
			worst = max(worst, a.at.Sub(sent[a.seq])-tx) // queueing delay
		}
		if worst != queue {
			t.Errorf("longest queueing delay %v, want the %v bound", worst, queue)
		}

		// Once drained, the queue accepts again and a lone packet waits
		// only for its own transmission.
		before := time.Now()
		l.Send(seqPacket(n, size), nil)
		last := c.waitFor(t, accepted+1, virtualTimeout)[accepted]
		if last.seq != n || last.at.Sub(before) != tx {
			t.Errorf("packet after the drain: seq %d took %v, want %d in %v", last.seq, last.at.Sub(before), n, tx)
		}
	})
}

func TestLatenessIsSmallAt10kPacketsPerSecond(t *testing.T) {
	// The median is asserted on every attempt. The p99 is a statement
	// about stalls (at 10k packets/s one 10 ms stall makes 1 % of a
	// second's packets late), and when other processes crowd both CPUs a
	// woken thread waits a time slice for one, which no emulator can
	// prevent (it reports the lateness instead). So the p99 must hold in
	// one of three one-second attempts, and a miss is only excused when
	// this process's threads spent, together, more than 5 % of the attempt
	// waiting for a CPU (Linux schedstat; a calm machine shows well under
	// 1 %).
	const attempts = 3
	var uncrowdedMiss time.Duration
	for i := 1; i <= attempts; i++ {
		p99, crowded := measureLatenessAt10kPPS(t)
		if p99 < 2*time.Millisecond {
			return
		}
		t.Logf("attempt %d: p99 %v (crowded out: %v)", i, p99, crowded)
		if !crowded {
			uncrowdedMiss = p99
		}
	}
	if uncrowdedMiss > 0 {
		t.Errorf("p99 lateness %v at 10k packets/s on an uncrowded CPU, want < 2ms", uncrowdedMiss)
		return
	}
	t.Logf("p99 not judged: other processes kept this test waiting for a CPU in every attempt")
}

// measureLatenessAt10kPPS runs 10,000 packets at 10k packets/s through a
// 5 ms link and checks what must always hold. It returns the worse of the
// link's own p99 lateness and the p99 measured from outside, and whether
// other processes crowded this one out meanwhile.
func measureLatenessAt10kPPS(t *testing.T) (p99 time.Duration, crowded bool) {
	const (
		perTick = 10
		ticks   = 1000
		delay   = 5 * time.Millisecond
	)
	c := newCollector()
	l := newTestLink(t, Spec{Delay: delay}, c.deliver)
	contention := startCPUContentionProbe()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	sent := make([]time.Time, 0, perTick*ticks)
	for range ticks {
		<-tick.C
		for range perTick {
			seq := uint64(len(sent))
			sent = append(sent, time.Now())
			l.Send(seqPacket(seq, 200), nil)
		}
	}
	got := c.waitFor(t, len(sent), 5*time.Second)
	waited, measured := contention()
	crowded = measured && waited > time.Duration(ticks)*time.Millisecond/20
	l.Close()

	// The link's own report.
	late := l.Stats().Lateness
	t.Logf("lateness as reported: %+v; threads waited %v for a CPU", late, waited)
	if late.Count != uint64(len(sent)) {
		t.Errorf("lateness counted %d deliveries, want %d", late.Count, len(sent))
	}
	if late.Max < late.P99 || late.P99 < late.P50 {
		t.Errorf("inconsistent lateness summary %+v", late)
	}
	if late.P50 > 500*time.Microsecond {
		t.Errorf("median lateness %v at 10k packets/s, want < 500µs", late.P50)
	}

	// The same measured from outside: one-way delay beyond the setting.
	extra := make([]time.Duration, len(got))
	for i, a := range got {
		extra[i] = a.at.Sub(sent[a.seq]) - delay
		if extra[i] < 0 {
			t.Fatalf("packet %d delivered %v early", a.seq, -extra[i])
		}
	}
	s := durationsSorted(extra)
	if med := quantile(s, 0.5); med > 500*time.Microsecond {
		t.Errorf("median delay beyond the setting %v, want < 500µs", med)
	}
	return max(late.P99, quantile(s, 0.99)), crowded
}

func TestPhasesSwitchRateAndLossAtTheirTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n    = 40
			size = 1000 // 1 ms at 8 Mbit/s, 4 ms at 2 Mbit/s
			gap  = 10 * time.Millisecond
		)
		spec := Spec{Rate: 8e6, Queue: time.Second, Phases: []Phase{
			{After: 100 * time.Millisecond, Rate: 2e6},
			{After: 200 * time.Millisecond, Rate: 8e6, Loss: 1},
			{After: 300 * time.Millisecond, Rate: 8e6},
		}}
		c := newCollector()
		l := newTestLink(t, spec, c.deliver, withTimersOnly())
		// The phases' clock starts at the first packet, not at NewLink: a
		// second of (virtual) idleness changes nothing.
		time.Sleep(time.Second)

		// One packet every 10 ms finds the link idle, so it takes just its
		// transmission time at the rate of its phase: packets 10..19 fall
		// in the 2 Mbit/s phase, 20..29 in the lossy one.
		tick := time.NewTicker(gap)
		defer tick.Stop()
		sent := make([]time.Time, n)
		for i := range n {
			if i > 0 {
				<-tick.C
			}
			sent[i] = time.Now()
			l.Send(seqPacket(uint64(i), size), nil)
		}
		if st := l.Stats(); st.LossDrops != 10 {
			t.Errorf("lost %d packets, want the 10 of the 100%% loss phase", st.LossDrops)
		}
		got := c.waitFor(t, n-10, virtualTimeout)
		for _, a := range got {
			want := time.Millisecond
			switch {
			case a.seq >= 20 && a.seq < 30:
				t.Fatalf("packet %d, sent in the 100%% loss phase, was delivered", a.seq)
			case a.seq >= 10 && a.seq < 20:
				want = 4 * time.Millisecond
			}
			if took := a.at.Sub(sent[a.seq]); took != want {
				t.Errorf("packet %d (sent %v after the first) took %v, want %v", a.seq, sent[a.seq].Sub(sent[0]), took, want)
			}
		}
	})
}

func TestQueueLimitFollowsThePhaseRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n     = 50
			size  = 1000 // 1 ms at 8 Mbit/s, 4 ms at 2 Mbit/s
			queue = 20 * time.Millisecond
		)
		spec := Spec{Rate: 8e6, Queue: queue, Phases: []Phase{{After: 100 * time.Millisecond, Rate: 2e6}}}
		l := newTestLink(t, spec, func([]byte, net.Addr) {}, withTimersOnly())
		// 20 ms of queue holds 20 packets at 8 Mbit/s but only 5 at
		// 2 Mbit/s; the packet on the wire is not queued.
		sendSeq(l, n, size)
		if st := l.Stats(); st.QueueDrops != n-21 {
			t.Errorf("8 Mbit/s: dropped %d of a %d-packet burst, want %d", st.QueueDrops, n, n-21)
		}
		time.Sleep(200 * time.Millisecond) // virtual: the queue drains, the 2 Mbit/s phase begins
		sendSeq(l, n, size)
		if st := l.Stats(); st.QueueDrops != (n-21)+(n-6) {
			t.Errorf("2 Mbit/s: dropped %d of a %d-packet burst, want %d", st.QueueDrops-(n-21), n, n-6)
		}
	})
}
