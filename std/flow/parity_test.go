package flow

import (
	"math"
	"testing"
	"time"
)

// link is a synthetic FEC 10/max link: the residual loss a sender sees
// with n parity shards, for independent loss p (the share of 10+n
// groups that lose more than n shards, times the data lost with them).
func residual(p float64, n int) float64 {
	g := 10 + n
	lost := 0.0
	for k := n + 1; k <= g; k++ {
		lost += binom(g, k) * math.Pow(p, float64(k)) * math.Pow(1-p, float64(g-k)) * float64(k) / float64(g)
	}
	return lost
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// drive feeds a Parity windows of 1000 segments, 100 ms apart, on a link
// with loss(t), for d, and returns the shard counts it chose over the
// last quarter of d.
func drive(pc *Parity, start time.Time, d time.Duration, rtt time.Duration, loss func(time.Duration) float64) (counts map[int]int, end time.Time) {
	counts = map[int]int{}
	for t := time.Duration(0); t < d; t += 100 * time.Millisecond {
		r := residual(loss(t), pc.Shards())
		pc.Sent(start.Add(t), 1000, int(math.Round(1000*r)), rtt)
		if t >= d*3/4 {
			counts[pc.Shards()]++
		}
	}
	return counts, start.Add(d)
}

func only(counts map[int]int) (int, bool) {
	for n := range counts {
		if len(counts) == 1 {
			return n, true
		}
	}
	return -1, false
}

func TestParityDropsEveryShardOnACleanLink(t *testing.T) {
	pc := NewParity(3)
	if pc.Shards() != 3 {
		t.Fatalf("starts with %d shards, want all 3", pc.Shards())
	}
	counts, _ := drive(pc, time.Unix(0, 0), 20*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0 })
	if n, ok := only(counts); !ok || n != 0 {
		t.Fatalf("clean link: shards %v, want only 0", counts)
	}
}

func TestParityKeepsEveryShardOnAVeryLossyLink(t *testing.T) {
	pc := NewParity(3)
	counts, _ := drive(pc, time.Unix(0, 0), 60*time.Second, 200*time.Millisecond, func(time.Duration) float64 { return 0.10 })
	if n, ok := only(counts); !ok || n != 3 {
		t.Fatalf("10 %% loss: shards %v, want only 3", counts)
	}
}

// TestParitySpendsLittleOnModerateLoss: at 80 ms, 2 % loss is left to
// retransmission (it leaves 2 % to resend, under the threshold: on the
// bench's lossy link a shard cost more than the resends it saved, 1.06×
// the goodput without it), and 5 % needs a shard most of the time.
func TestParitySpendsLittleOnModerateLoss(t *testing.T) {
	for _, c := range []struct {
		loss       float64
		most, none int // shards sent at least 80 % of the time, and never
	}{{0.02, 0, 1}, {0.05, 1, 3}} {
		pc := NewParity(3)
		counts, _ := drive(pc, time.Unix(0, 0), 120*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return c.loss })
		total := 0
		for _, n := range counts {
			total += n
		}
		if counts[c.most] < total*8/10 || counts[c.none] > 0 {
			t.Errorf("%.0f %% loss: shards %v over the last 30 s, want %d at least 80 %% of the time and never %d", 100*c.loss, counts, c.most, c.none)
		}
	}
}

// TestParitySpendsMoreOnLongPaths: the same 1 % loss keeps no shard at
// 80 ms but at least one at 600 ms, where a resend costs a long wait.
func TestParitySpendsMoreOnLongPaths(t *testing.T) {
	short := NewParity(3)
	cs, _ := drive(short, time.Unix(0, 0), 60*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0.01 })
	long := NewParity(3)
	cl, _ := drive(long, time.Unix(0, 0), 60*time.Second, 600*time.Millisecond, func(time.Duration) float64 { return 0.01 })
	if cs[0] == 0 {
		t.Errorf("1 %% loss at 80 ms: shards %v, want mostly 0", cs)
	}
	if total := cl[0] + cl[1] + cl[2] + cl[3]; cl[0] > total/2 {
		t.Errorf("1 %% loss at 600 ms: shards %v, want at least one most of the time", cl)
	}
	if HighLoss(600*time.Millisecond) >= HighLoss(80*time.Millisecond) {
		t.Errorf("HighLoss does not fall with the RTT")
	}
}

// TestParityFollowsAChangingLink: 1 % → 10 % → 1 % loss; it reaches all
// shards within a second of the change and gives them back after.
func TestParityFollowsAChangingLink(t *testing.T) {
	pc := NewParity(3)
	at := time.Unix(0, 0)
	_, at = drive(pc, at, 30*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0.01 })
	before := pc.Shards()
	counts, at := drive(pc, at, 4*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0.10 })
	if n, ok := only(counts); !ok || n != 3 {
		t.Fatalf("after 3 s of 10 %% loss (from %d shards): %v, want only 3", before, counts)
	}
	counts, _ = drive(pc, at, 60*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0.01 })
	if counts[3] > 0 {
		t.Fatalf("back at 1 %%: shards %v over the last 15 s, want fewer than 3", counts)
	}
}

func TestParityWithoutFECStaysAtZero(t *testing.T) {
	pc := NewParity(0)
	drive(pc, time.Unix(0, 0), 5*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0.2 })
	if pc.Shards() != 0 {
		t.Fatalf("no parity configured: %d shards", pc.Shards())
	}
}

// TestParityIgnoresOneBadWindow: a single window full of retransmissions
// (a queue that overflowed once) moves nothing; three in a row do.
func TestParityIgnoresOneBadWindow(t *testing.T) {
	pc := NewParity(3)
	at := time.Unix(0, 0)
	_, at = drive(pc, at, 20*time.Second, 80*time.Millisecond, func(time.Duration) float64 { return 0 })
	if pc.Shards() != 0 {
		t.Fatalf("clean link: %d shards, want 0", pc.Shards())
	}
	window := func(retrans int) {
		at = at.Add(200 * time.Millisecond)
		pc.Sent(at, 1000, retrans, 80*time.Millisecond)
	}
	window(100)
	window(0)
	window(0)
	if pc.Shards() != 0 {
		t.Fatalf("after one window of 10 %% resent: %d shards, want still 0", pc.Shards())
	}
	for range 3 {
		window(100)
	}
	if pc.Shards() == 0 {
		t.Fatalf("after three windows of 10 %% resent: still 0 shards")
	}
}
