package netem

import (
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// The tests in this file check the random fates (loss, bursts,
// duplication, reordering) against their settings. The seeds make them
// deterministic; the tolerances are about four standard deviations, so a
// wrong model fails them whatever the seed.

func TestBernoulliLossMatchesSetting(t *testing.T) {
	const n, p = 20000, 0.10
	c := newCollector()
	l := newTestLink(t, Spec{Loss: p}, c.deliver, WithSeed(1))
	sendSeq(l, n, 100)

	st := l.Stats()
	rate := float64(st.LossDrops) / n
	if tol := 4 * math.Sqrt(p*(1-p)/n); math.Abs(rate-p) > tol {
		t.Errorf("loss rate %.4f, want %.2f ± %.4f", rate, p, tol)
	}
	want := n - int(st.LossDrops)
	c.waitFor(t, want, 5*time.Second)
	if st := l.Stats(); st.In != n || st.Delivered != uint64(want) || st.BytesOut != uint64(want*100) {
		t.Errorf("stats %v: want in=%d delivered=%d bytes=%d", st, n, want, want*100)
	}
}

func TestSameSeedSameFates(t *testing.T) {
	lost := func(seed uint64) []uint64 {
		c := newCollector()
		l := newTestLink(t, Spec{Loss: 0.3}, c.deliver, WithSeed(seed))
		sendSeq(l, 200, 10)
		got := c.waitFor(t, 200-int(l.Stats().LossDrops), 5*time.Second)
		seqs := make([]uint64, len(got))
		for i, a := range got {
			seqs[i] = a.seq
		}
		return seqs
	}
	a, b, other := lost(7), lost(7), lost(8)
	if !slices.Equal(a, b) {
		t.Error("the same seed lost different packets")
	}
	if slices.Equal(a, other) {
		t.Error("different seeds lost the same packets")
	}
}

func TestGilbertElliottLossAndBurstLength(t *testing.T) {
	tests := []struct {
		name      string
		ge        GilbertElliott
		meanBurst float64 // 0: not checked (losses in the bad state are not certain)
	}{
		// Classic Gilbert: every packet in the bad state is lost, so loss
		// bursts are the bad-state sojourns: mean 1/R = 5 packets, average
		// loss P/(P+R) = 4.76 %.
		{"gilbert", GilbertElliott{P: 0.01, R: 0.2, LossGood: 0, LossBad: 1}, 5},
		{"elliott", GilbertElliott{P: 0.02, R: 0.1, LossGood: 0.01, LossBad: 0.5}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 100000
			c := newCollector()
			l := newTestLink(t, Spec{GE: tt.ge}, c.deliver, WithSeed(2))
			sendSeq(l, n, 8)
			st := l.Stats()
			got := c.waitFor(t, n-int(st.LossDrops), 10*time.Second)

			loss := float64(st.LossDrops) / n
			// Bursty losses vary more than independent ones; 0.008 is
			// about four standard deviations here.
			if want := tt.ge.MeanLoss(); math.Abs(loss-want) > 0.008 {
				t.Errorf("loss %.4f, want %.4f ± 0.008", loss, want)
			}
			if tt.meanBurst == 0 {
				return
			}
			bursts, lostInBursts := 0, 0
			next := uint64(0)
			for _, a := range got {
				if a.seq > next {
					bursts++
					lostInBursts += int(a.seq - next)
				}
				next = a.seq + 1
			}
			mean := float64(lostInBursts) / float64(bursts)
			if math.Abs(mean-tt.meanBurst) > 0.6 {
				t.Errorf("mean loss burst %.2f packets over %d bursts, want %.1f ± 0.6", mean, bursts, tt.meanBurst)
			}
		})
	}
}

func TestDuplicationRate(t *testing.T) {
	const n, p = 20000, 0.05
	c := newCollector()
	l := newTestLink(t, Spec{Duplicate: p}, c.deliver, WithSeed(3))
	sendSeq(l, n, 64)
	st := l.Stats()
	rate := float64(st.Duplicated) / n
	if tol := 4 * math.Sqrt(p*(1-p)/n); math.Abs(rate-p) > tol {
		t.Errorf("duplication rate %.4f, want %.2f ± %.4f", rate, p, tol)
	}
	got := c.waitFor(t, n+int(st.Duplicated), 5*time.Second)
	copies := 0
	for i := 1; i < len(got); i++ {
		switch {
		case got[i].seq == got[i-1].seq:
			copies++
		case got[i].seq != got[i-1].seq+1:
			t.Fatalf("packet %d followed %d: duplication must not reorder", got[i].seq, got[i-1].seq)
		}
	}
	if copies != int(st.Duplicated) {
		t.Errorf("saw %d copies, stats say %d", copies, st.Duplicated)
	}
}

func TestNoReorderingWithJitter(t *testing.T) {
	// 5 ms of jitter on packets sent microseconds apart would scramble
	// them if each packet simply took its own delay.
	const n = 5000
	c := newCollector()
	l := newTestLink(t, Spec{Delay: 2 * time.Millisecond, Jitter: 5 * time.Millisecond}, c.deliver, WithSeed(4))
	sendSeq(l, n, 32)
	got := c.waitFor(t, n, 10*time.Second)
	for i, a := range got {
		if a.seq != uint64(i) {
			t.Fatalf("delivery %d was packet %d: order not preserved", i, a.seq)
		}
	}
	if st := l.Stats(); st.Reordered != 0 {
		t.Errorf("Reordered = %d with reorder off", st.Reordered)
	}
}

func TestReorderingRate(t *testing.T) {
	// In a synctest bubble the whole burst is sent at one instant, so every
	// held-back packet is overtaken, unless nothing unheld follows it.
	synctest.Test(t, func(t *testing.T) {
		const n, p = 5000, 0.10
		c := newCollector()
		l := newTestLink(t, Spec{Reorder: p, ReorderGap: 5 * time.Millisecond}, c.deliver, WithSeed(5), withTimersOnly())
		sendSeq(l, n, 32)
		st := l.Stats()
		if tol := 4 * math.Sqrt(p*(1-p)/n); math.Abs(float64(st.Reordered)/n-p) > tol {
			t.Errorf("reordered %d of %d, want %.0f%% ± %.1f%%", st.Reordered, n, p*100, tol*100)
		}
		got := c.waitFor(t, n, virtualTimeout)
		overtaken := 0 // packets delivered after a later-sent one
		var highest uint64
		for i, a := range got {
			if i > 0 && a.seq < highest {
				overtaken++
			}
			highest = max(highest, a.seq)
		}
		if overtaken > int(st.Reordered) || overtaken < int(st.Reordered)-3 {
			t.Errorf("%d packets arrived out of order, %d were held back", overtaken, st.Reordered)
		}
	})
}
