package flow

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// residual is a synthetic FEC 10/n link: the residual loss a sender sees
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

// random is a link with independent loss p.
func random(p float64) func(time.Duration, int) float64 {
	return func(_ time.Duration, n int) float64 { return residual(p, n) }
}

// drive feeds a Parity bulk windows of 1000 segments, 100 ms apart, on a
// link whose residual loss at t with n shards is loss(t, n), for d, and
// returns the shard counts it chose over the last quarter of d.
func drive(pc *Parity, start time.Time, d time.Duration, rtt time.Duration, loss func(time.Duration, int) float64) (counts map[int]int, end time.Time) {
	return sendEvery(pc, start, d, 100*time.Millisecond, 1000, rtt, loss)
}

// sendEvery is drive with segs segments sent every step: under 1000 per
// parityWindowMax, a session that sends little.
func sendEvery(pc *Parity, start time.Time, d, step time.Duration, segs int, rtt time.Duration, loss func(time.Duration, int) float64) (counts map[int]int, end time.Time) {
	counts = map[int]int{}
	owed := 0.0
	for t := time.Duration(0); t < d; t += step {
		owed += float64(segs) * loss(t, pc.Shards())
		resent := int(owed)
		owed -= float64(resent)
		pc.Sent(start.Add(t), segs, resent, rtt)
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

// mostly returns the shard count chosen most often and its share.
func mostly(counts map[int]int) (n int, share float64) {
	total, best := 0, -1
	for c, k := range counts {
		total += k
		if best < 0 || k > counts[best] {
			best = c
		}
	}
	return best, float64(counts[best]) / float64(total)
}

func TestParityStaysAtNoShardOnACleanLink(t *testing.T) {
	pc := NewParity(10, 3)
	if pc.Shards() != 0 {
		t.Fatalf("starts with %d shards, want none until it sees loss", pc.Shards())
	}
	counts, _ := drive(pc, time.Unix(0, 0), 20*time.Second, 80*time.Millisecond, random(0))
	if n, ok := only(counts); !ok || n != 0 {
		t.Fatalf("clean link: shards %v, want only 0", counts)
	}
}

// TestParityKeepsTheShardsThatPay: 10 % random loss on a 200 ms path
// (the bench's bad link): the first two shards each save 3.5 % of the
// data from a resend that costs 3 segments' worth there (10.5 % against
// the 10 % a shard costs), the third only 1.9 %.
func TestParityKeepsTheShardsThatPay(t *testing.T) {
	pc := NewParity(10, 3)
	counts, _ := drive(pc, time.Unix(0, 0), 120*time.Second, 200*time.Millisecond, random(0.10))
	if n, share := mostly(counts); n != 2 || share < 0.7 {
		t.Fatalf("10 %% loss at 200 ms: shards %v over the last 30 s, want 2 most of the time", counts)
	}
}

// TestParitySpendsNothingWhereFECCannotRepair: bursts longer than the
// parity (the bench's bursty link: ≈ 3 % loss in bursts of ≈ 7 packets)
// leave the same residual loss whatever the shard count, above the
// threshold that asks for a shard: every shard is wasted.
func TestParitySpendsNothingWhereFECCannotRepair(t *testing.T) {
	pc := NewParity(10, 3)
	bursts := func(_ time.Duration, n int) float64 { return 0.03 - 0.001*float64(n) }
	counts, _ := drive(pc, time.Unix(0, 0), 60*time.Second, 120*time.Millisecond, bursts)
	if n, share := mostly(counts); n != 0 || share < 0.8 {
		t.Fatalf("bursts FEC cannot repair: shards %v over the last 15 s, want 0 most of the time", counts)
	}
}

// TestParitySheddingIsQuickAtTheStart: a download sheds the shards that
// do not pay within its first seconds, one step down per three windows,
// with no hold until a drop has failed.
func TestParitySheddingIsQuickAtTheStart(t *testing.T) {
	pc := NewParity(10, 3)
	bursts := func(_ time.Duration, n int) float64 { return 0.03 - 0.001*float64(n) }
	drive(pc, time.Unix(0, 0), 2500*time.Millisecond, 80*time.Millisecond, bursts)
	if pc.Shards() != 0 {
		t.Fatalf("2.5 s into a download over bursts FEC cannot repair: %d shards, want 0", pc.Shards())
	}
}

// TestParitySpendsLittleOnModerateLoss: at 80 ms, 2 % loss is left to
// retransmission (a shard saves 1.6 % of the data from a resend worth
// 1.8 segments: less than its 10 %; on the bench's lossy link no parity
// moved 1.04–1.06× the goodput), and so is 1 % at 600 ms in bulk.
func TestParitySpendsLittleOnModerateLoss(t *testing.T) {
	for _, c := range []struct {
		loss float64
		rtt  time.Duration
	}{{0.02, 80 * time.Millisecond}, {0.05, 80 * time.Millisecond}, {0.01, 600 * time.Millisecond}} {
		pc := NewParity(10, 3)
		counts, _ := drive(pc, time.Unix(0, 0), 120*time.Second, c.rtt, random(c.loss))
		if n, share := mostly(counts); n != 0 || share < 0.8 {
			t.Errorf("%.0f %% loss at %v: shards %v over the last 30 s, want 0 at least 80 %% of the time", 100*c.loss, c.rtt, counts)
		}
	}
}

// TestParityKeepsShardsForASessionThatSendsLittle: an interactive
// session (20 segments a second) at 1 % loss on a 600 ms path keeps a
// shard: it costs it a few bytes and saves it a 600 ms wait; at 80 ms it
// does not need one.
func TestParityKeepsShardsForASessionThatSendsLittle(t *testing.T) {
	long := NewParity(10, 3)
	cl, _ := sendEvery(long, time.Unix(0, 0), 10*time.Minute, time.Second, 20, 600*time.Millisecond, random(0.01))
	if n, _ := mostly(cl); n == 0 {
		t.Errorf("1 %% loss at 600 ms, 20 segments/s: shards %v, want at least one most of the time", cl)
	}
	short := NewParity(10, 3)
	cs, _ := sendEvery(short, time.Unix(0, 0), 10*time.Minute, time.Second, 20, 80*time.Millisecond, random(0.01))
	if n, _ := mostly(cs); n != 0 {
		t.Errorf("1 %% loss at 80 ms, 20 segments/s: shards %v, want mostly 0", cs)
	}
	if HighLoss(600*time.Millisecond) >= HighLoss(80*time.Millisecond) {
		t.Errorf("HighLoss does not fall with the RTT")
	}
}

// TestParityInteractiveDropsAfterThreeCalmWindows: a session that sends
// little (its windows close every 10 s) gives up a shard on a clean link
// after three calm windows, not later.
func TestParityInteractiveDropsAfterThreeCalmWindows(t *testing.T) {
	pc := NewParity(10, 3)
	pc.n = 3 // as after a patch of loss
	sendEvery(pc, time.Unix(0, 0), 35*time.Second, time.Second, 20, 80*time.Millisecond, random(0))
	if pc.Shards() != 2 {
		t.Fatalf("after 35 s (three 10 s windows) calm at 20 segments/s: %d shards, want 2", pc.Shards())
	}
}

// TestParityFollowsAChangingLink: 1 % → 10 % → 1 % random loss on a
// 200 ms path; it takes shards within a few seconds of the change and
// gives them back within 15 s after.
func TestParityFollowsAChangingLink(t *testing.T) {
	pc := NewParity(10, 3)
	at := time.Unix(0, 0)
	_, at = drive(pc, at, 30*time.Second, 200*time.Millisecond, random(0.01))
	if pc.Shards() != 0 {
		t.Fatalf("1 %% loss at 200 ms: %d shards, want 0", pc.Shards())
	}
	counts, at := drive(pc, at, 8*time.Second, 200*time.Millisecond, random(0.10))
	if counts[0] > 0 {
		t.Fatalf("after 6 s of 10 %% loss: shards %v, want some", counts)
	}
	counts, _ = drive(pc, at, 20*time.Second, 200*time.Millisecond, random(0.01))
	if n, ok := only(counts); !ok || n != 0 {
		t.Fatalf("back at 1 %%: shards %v over the last 5 s, want 0", counts)
	}
}

func TestParityWithoutFECStaysAtZero(t *testing.T) {
	pc := NewParity(10, 0)
	drive(pc, time.Unix(0, 0), 5*time.Second, 80*time.Millisecond, random(0.2))
	if pc.Shards() != 0 {
		t.Fatalf("no parity configured: %d shards", pc.Shards())
	}
}

// TestParityIgnoresOneBadWindow: a single window full of retransmissions
// (a queue that overflowed once) moves nothing; three in a row do.
func TestParityIgnoresOneBadWindow(t *testing.T) {
	pc := NewParity(10, 3)
	at := time.Unix(0, 0)
	_, at = drive(pc, at, 20*time.Second, 80*time.Millisecond, random(0))
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

// lossProcess says, packet by packet, whether the link loses it.
type lossProcess func() bool

// gilbertElliott is the bench's bursty link: no loss in the good state,
// all in the bad one, entered with p and left with r per packet.
func gilbertElliott(rng *rand.Rand, p, r float64) lossProcess {
	bad := false
	return func() bool {
		if bad {
			bad = rng.Float64() >= r
		} else {
			bad = rng.Float64() < p
		}
		return bad
	}
}

func independent(rng *rand.Rand, p float64) lossProcess {
	return func() bool { return rng.Float64() < p }
}

// sendJudged feeds a Parity bulk windows of 1000 segments every 100 ms
// over a link that loses packets as lose says, in FEC groups of ten data
// shards and the parity sent: a group that loses no more than its
// parity is rebuilt whole. Each segment's fate after FEC goes to Judged
// and the losses to Sent. It returns every shard count chosen.
func sendJudged(pc *Parity, d, rtt time.Duration, lose lossProcess) (counts map[int]int) {
	counts = map[int]int{}
	start, sn := time.Unix(0, 0), uint32(0)
	for t := time.Duration(0); t < d; t += 100 * time.Millisecond {
		resent := 0
		for range 100 {
			var lost [10]bool
			k := 0
			for i := range lost {
				lost[i] = lose()
				if lost[i] {
					k++
				}
			}
			for range pc.Shards() {
				if lose() {
					k++
				}
			}
			for i := range lost {
				lost[i] = lost[i] && k > pc.Shards()
				if lost[i] {
					resent++
				}
				pc.Judged(sn, lost[i])
				sn++
			}
		}
		pc.Sent(start.Add(t), 1000, resent, rtt)
		counts[pc.Shards()]++
	}
	return counts
}

// TestParityBuysNoShardBurstsCannotUse: on the bench's bursty link the
// residual loss (≈ 3 %) is over the threshold at 120 ms, so measuring
// alone buys a shard now and then to find it does not pay; the loss
// pattern says so before any is bought.
func TestParityBuysNoShardBurstsCannotUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pc := NewParity(10, 3)
	counts := sendJudged(pc, 60*time.Second, 120*time.Millisecond, gilbertElliott(rng, 0.005, 0.15))
	if n, ok := only(counts); !ok || n != 0 {
		t.Fatalf("bursts of ≈ 7: shards %v (windows at each count), want none ever", counts)
	}
	if r := pc.State().Repairable; r < 0 || r > 0.2 {
		t.Errorf("bursts of ≈ 7: repairable share %.2f, want a known share under 0.2", r)
	}
}

// TestParityPatternLeavesRandomLossToTheMeasurement: 10 % random loss on
// a 400 ms path, with the pattern measured, still buys the shards that
// pay there (the first two each repair about a third of the loss, at a
// resend cost of five segments).
func TestParityPatternLeavesRandomLossToTheMeasurement(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 4))
	pc := NewParity(10, 3)
	counts := sendJudged(pc, 60*time.Second, 400*time.Millisecond, independent(rng, 0.10))
	total := 0
	for _, k := range counts {
		total += k
	}
	if none := float64(counts[0]) / float64(total); none > 0.2 {
		t.Fatalf("10 %% random loss at 400 ms: shards %v (windows at each count), want some in 80 %% of the windows", counts)
	}
	if r := pc.State().Repairable; r < 0.8 {
		t.Errorf("10 %% random loss: repairable share %.2f, want over 0.8", r)
	}
}

// TestParityForgetsWhatAShardOnceSaved: 10 % random loss at 200 ms keeps
// two shards; then the loss turns into bursts no shard repairs (3 %
// whatever the count). What the first shard saved was measured on the
// old link; once that is older than parityRemember the controller
// measures again and sheds the shards. Trusted for ever, the old
// measurement would keep them.
func TestParityForgetsWhatAShardOnceSaved(t *testing.T) {
	pc := NewParity(10, 3)
	_, at := drive(pc, time.Unix(0, 0), 60*time.Second, 200*time.Millisecond, random(0.10))
	if pc.Shards() == 0 {
		t.Fatalf("10 %% random loss at 200 ms: no shard, want the ones that pay")
	}
	flat := func(time.Duration, int) float64 { return 0.03 }
	counts, _ := drive(pc, at, 60*time.Second, 200*time.Millisecond, flat)
	if n, share := mostly(counts); n != 0 || share < 0.8 {
		t.Fatalf("bursts no shard repairs, after 45 s: shards %v over the last 15 s, want 0 most of the time", counts)
	}
}
