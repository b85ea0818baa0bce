package flow

import "time"

// The RecvWindow's tuning.
const (
	RecvFloor    = 512 // the least receive window (kcptun's client default)
	recvGain     = 3   // window = recvGain × the segments that arrive in a round trip
	recvHeadroom = 64  // plus this many segments
	recvStepMin  = 100 * time.Millisecond
	recvHold     = 10 * time.Second // a window shrinks only after this long without a raise
)

// RecvWindow sizes a session's receive window (what it lets the peer
// have in flight) from the rate data arrives at and the round trip:
// three times the bandwidth-delay product, since a hole left by a loss
// FEC cannot repair stays open for two round trips or more (one to find
// it, one to resend it) while the peer keeps sending. A window that
// limits the peer (its sending reaches the window's edge) doubles at the
// next step; it shrinks only after recvHold without a raise, to what the
// rate then needs but never below a quarter more than the peer used
// since the last change. It shrinks only while the peer sends (a span was
// seen, or data was read in the step): KCP drops, unacknowledged, a segment beyond the window, and a
// peer back from a pause would send into the window it last heard of
// until our next packet tells it the new one. It never leaves
// [min(RecvFloor, max), max].
//
// The memory it costs is only what is out of order or not yet read: KCP
// keeps no more than the window. It is not safe for concurrent use; use
// NewRecvWindow.
type RecvWindow struct {
	max, floor, seg int
	wnd             int

	at      time.Time // the start of the current measurement
	bytes   uint64    // bytes read by then
	raised  time.Time
	limited bool // the peer reached the window's edge since the last step
	peak    int  // the most the peer had beyond the first missing segment since the window last moved
}

// NewRecvWindow returns a RecvWindow at its floor that never exceeds max
// segments of segBytes each.
func NewRecvWindow(ceiling, segBytes int) *RecvWindow {
	floor := min(RecvFloor, ceiling)
	return &RecvWindow{max: ceiling, floor: floor, seg: max(segBytes, 1), wnd: floor}
}

// Wnd returns the receive window, in segments.
func (r *RecvWindow) Wnd() int { return r.wnd }

// Spanned tells the RecvWindow the most segments the peer had sent
// beyond the first one still missing, since the last call. Near the
// window (within an eighth) the peer's sending reached the window's edge:
// over a lossy path the rate shows this late or never, since a peer held
// by a hole sends less than it could, so the next step doubles the
// window.
func (r *RecvWindow) Spanned(n int) {
	r.peak = max(r.peak, n)
	if n >= r.wnd-r.wnd/8 {
		r.limited = true
	}
}

// Update takes the bytes read from the session so far at now and the
// path's round trip (0: unknown), and returns the window and whether it
// changed.
func (r *RecvWindow) Update(now time.Time, bytes uint64, rtt time.Duration) (int, bool) {
	if r.at.IsZero() || bytes < r.bytes {
		r.at, r.bytes, r.raised = now, bytes, now
		return r.wnd, false
	}
	span := now.Sub(r.at)
	if rtt <= 0 || span < max(rtt, recvStepMin) {
		return r.wnd, false
	}
	rate := float64(bytes-r.bytes) / span.Seconds()
	r.at, r.bytes = now, bytes
	need := max(int(recvGain*rate*rtt.Seconds()/float64(r.seg))+recvHeadroom, r.peak+r.peak/4)
	if r.limited {
		need, r.limited = max(need, 2*r.wnd), false
	}
	need = min(max(need, r.floor), r.max)
	switch {
	case need > r.wnd, need < r.wnd && (r.peak > 0 || rate > 0) && now.Sub(r.raised) >= recvHold:
		r.wnd, r.raised, r.peak = need, now, 0
		return r.wnd, true
	}
	return r.wnd, false
}
