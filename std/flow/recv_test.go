package flow

import (
	"fmt"
	"testing"
	"time"
)

// TestRecvWindowGrowsToThreeTimesTheBDP: a peer held back by the window
// sends all it allows each round trip; the window grows until the rate is
// the link's, then settles at three times its bandwidth-delay product.
func TestRecvWindowGrowsToThreeTimesTheBDP(t *testing.T) {
	const seg, rtt = 1000, 100 * time.Millisecond
	const link = 10e6 // bytes per second: a BDP of 1000 segments
	r := NewRecvWindow(4096, seg)
	if r.Wnd() != RecvFloor {
		t.Fatalf("starts at %d, want %d", r.Wnd(), RecvFloor)
	}
	now, read := time.Unix(0, 0), uint64(0)
	r.Update(now, read, rtt)
	for range 20 {
		rate := min(float64(r.Wnd()*seg)/rtt.Seconds(), link)
		now = now.Add(rtt)
		read += uint64(rate * rtt.Seconds())
		r.Update(now, read, rtt)
	}
	if want := 3*1000 + recvHeadroom; r.Wnd() != want {
		t.Fatalf("window %d, want %d", r.Wnd(), want)
	}
}

func TestRecvWindowStaysWithinItsBounds(t *testing.T) {
	r := NewRecvWindow(2048, 1000)
	now := time.Unix(0, 0)
	r.Update(now, 0, time.Second)
	r.Update(now.Add(time.Second), 1e12, time.Second)
	if r.Wnd() != 2048 {
		t.Fatalf("window %d, want the ceiling 2048", r.Wnd())
	}
	small := NewRecvWindow(100, 1000)
	if small.Wnd() != 100 {
		t.Fatalf("window %d with a ceiling of 100, want 100", small.Wnd())
	}
}

// TestRecvWindowShrinksOnlyAfterAHold: a pause does not take the window
// away: a peer back from it would send into the window it last heard of.
// While the peer sends little, after recvHold without a raise the window
// falls to what the rate needs (the floor here), whether the span is
// known (a SealConn) or only the bytes read (aes-128-gcm, FEC off).
func TestRecvWindowShrinksOnlyAfterAHold(t *testing.T) {
	for _, spans := range []bool{true, false} {
		t.Run(fmt.Sprintf("spans=%v", spans), func(t *testing.T) { testRecvWindowShrinks(t, spans) })
	}
}

func testRecvWindowShrinks(t *testing.T, spans bool) {
	const rtt = 100 * time.Millisecond
	r := NewRecvWindow(4096, 1000)
	now, read := time.Unix(0, 0), uint64(0)
	r.Update(now, read, rtt)
	now, read = now.Add(rtt), read+2e6 // 20 MB/s
	if w, changed := r.Update(now, read, rtt); !changed || w <= RecvFloor {
		t.Fatalf("window %d after a fast round trip, want it raised", w)
	}
	raised := r.Wnd()
	for range 2 * int(recvHold/rtt) { // idle: nothing read, no span
		now = now.Add(rtt)
		r.Update(now, read, rtt)
	}
	if r.Wnd() != raised {
		t.Fatalf("window %d after a pause of 2 × recvHold, want %d kept", r.Wnd(), raised)
	}
	for i := 0; i <= int(recvHold/rtt); i++ { // a trickle: 10 segments in flight
		if spans {
			r.Spanned(10)
		}
		now, read = now.Add(rtt), read+1e4
		r.Update(now, read, rtt)
	}
	if r.Wnd() != RecvFloor {
		t.Fatalf("window %d after recvHold of a trickle, want the floor %d", r.Wnd(), RecvFloor)
	}
}

func TestRecvWindowWaitsForAnRTT(t *testing.T) {
	r := NewRecvWindow(4096, 1000)
	now := time.Unix(0, 0)
	r.Update(now, 0, 0)
	if _, changed := r.Update(now.Add(time.Second), 1e9, 0); changed {
		t.Fatal("window moved with no RTT known")
	}
}

// TestRecvWindowDoublesAtItsEdge: over a lossy path a peer held by a hole
// sends less than it could, so the rate alone never raises the window; a
// span that reaches the window's edge doubles it at the next step.
func TestRecvWindowDoublesAtItsEdge(t *testing.T) {
	const rtt = 100 * time.Millisecond
	r := NewRecvWindow(4096, 1000)
	now := time.Unix(0, 0)
	r.Update(now, 0, rtt)
	r.Spanned(RecvFloor / 2) // far from the edge
	if w, changed := r.Update(now.Add(rtt), 1e5, rtt); changed {
		t.Fatalf("window %d after a span of half of it, want %d kept", w, RecvFloor)
	}
	r.Spanned(RecvFloor - RecvFloor/8)
	if w, _ := r.Update(now.Add(2*rtt), 2e5, rtt); w != 2*RecvFloor {
		t.Fatalf("window %d after a span at its edge, want %d", w, 2*RecvFloor)
	}
}

// TestRecvWindowKeepsWhatThePeerUses: after the hold the window falls to
// what the rate needs, but not below a quarter more than the most the
// peer had in flight since it last moved: a peer held by holes on a lossy
// path needs more than the rate shows.
func TestRecvWindowKeepsWhatThePeerUses(t *testing.T) {
	const rtt = 100 * time.Millisecond
	r := NewRecvWindow(4096, 1000)
	now := time.Unix(0, 0)
	r.Update(now, 0, rtt)
	r.Spanned(RecvFloor) // at the edge: doubles
	now = now.Add(rtt)
	r.Update(now, 0, rtt)
	r.Spanned(2 * RecvFloor) // at the edge again
	now = now.Add(rtt)
	if w, _ := r.Update(now, 0, rtt); w != 4*RecvFloor {
		t.Fatalf("window %d, want %d", w, 4*RecvFloor)
	}
	r.Spanned(1200)
	for i := 0; i <= int(recvHold/rtt); i++ {
		now = now.Add(rtt)
		r.Update(now, 0, rtt) // nothing read: the rate needs the floor
	}
	if want := 1200 + 1200/4; r.Wnd() != want {
		t.Fatalf("window %d after the hold, want %d (the peer's 1200 and a quarter)", r.Wnd(), want)
	}
}
