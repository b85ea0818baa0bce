package transport

import (
	"encoding/binary"
	"iter"
	"time"
)

// KCP segment commands (wire.md).
const (
	kcpCmdAck = 82
	// ackRing is how far above the peer's una the ACKs are remembered: a
	// KCP window field is 16 bits, so no sender has more in flight.
	ackRing = 1 << 16
)

// ackTrack follows, for the data one peer is sent, which segments above
// the peer's una (the first it still misses) it has acknowledged, and
// which are lost (missing below the dupThresh-th highest acknowledged
// one) and not yet sent again. The acknowledged ones still count in KCP's
// send window, which spans from una: while a loss is repaired they hold
// the window and the sender stalls. Their count is what the window may
// grow by so that what is in flight stays put. The lost ones do not
// count there: kcp-go resends them whether the window has room or not,
// so room made for them would go to new data as well, and the resent
// copies would overfill the path.
//
// The ACKs it sees are those that arrive whole; one repaired by FEC
// below it is missed, so the count errs low.
type ackTrack struct {
	started bool
	una     uint32 // the peer's una: it has every segment below
	high    uint32 // the highest segment acknowledged (or una − 1)
	acked   int    // segments at or above una acknowledged
	lostNow int    // segments at or above una lost and not sent again
	// delivered counts the segments the peer has, in total: those it
	// acknowledged and those its una passed with no ACK seen; lost
	// counts the segments found lost, in total (lostMark is the first
	// not yet judged).
	delivered, lost uint64
	lostMark        uint32
	// ackRing bits each, made at the first ACK: acknowledged, lost (and
	// not sent again), sent again.
	ackBits, lostBits, resentBits []uint64
	// judged, if set, hears each segment's judgement, in order of sn:
	// lost, or not (acknowledged or sent again before the ACKs passed it).
	judged func(sn uint32, lost bool)
}

// dupThresh is how many segments acknowledged above a missing one make
// it lost rather than late (reordered), as TCP's duplicate-ACK threshold.
const dupThresh = 3

func bit(sn uint32) (int, uint64) { return int(sn % ackRing / 64), uint64(1) << (sn % 64) }

// within reports whether sn is tracked: from una up, within the ring.
func (a *ackTrack) within(sn uint32) bool {
	d := sn - a.una
	return int32(d) >= 0 && d < ackRing
}

// start begins the count at sn, the first segment sent.
func (a *ackTrack) start(sn uint32) {
	if !a.started {
		a.started, a.una, a.high, a.lostMark = true, sn, sn-1, sn
	}
}

// advance moves una forward, forgetting what it passed.
func (a *ackTrack) advance(una uint32) {
	if !a.started {
		a.start(una)
		return
	}
	if int32(una-1-a.high) > 0 {
		a.high = una - 1
	}
	if int32(una-a.lostMark) > 0 {
		a.passed(una)
	}
	d := una - a.una
	if int32(d) <= 0 {
		return
	}
	if d >= ackRing || a.ackBits == nil {
		a.delivered += uint64(d) - uint64(a.acked)
		clear(a.ackBits)
		clear(a.lostBits)
		clear(a.resentBits)
		a.una, a.acked, a.lostNow = una, 0, 0
		return
	}
	acked := 0
	for sn := a.una; sn != una; sn++ {
		i, m := bit(sn)
		if a.ackBits[i]&m != 0 {
			acked++
		}
		if a.lostBits[i]&m != 0 {
			a.lostNow--
		}
		a.ackBits[i] &^= m
		a.lostBits[i] &^= m
		a.resentBits[i] &^= m
	}
	a.delivered += uint64(d) - uint64(acked)
	a.acked -= acked
	a.una = una
}

// passed moves the first segment not yet judged (lostMark) up to una,
// judging those una passed not lost: they arrived, and no later ACKs had
// passed them by dupThresh. In a stretch with no loss that is every
// segment, as the peer's una runs ahead of the ACKs' judgement.
func (a *ackTrack) passed(una uint32) {
	if a.judged != nil {
		from := a.lostMark
		if una-from > ackRing {
			from = una - ackRing
		}
		for sn := from; sn != una; sn++ {
			a.judged(sn, false)
		}
	}
	a.lostMark = una
}

// ack notes an ACK for sn.
func (a *ackTrack) ack(sn uint32) {
	if !a.within(sn) {
		return
	}
	if a.ackBits == nil {
		a.ackBits = make([]uint64, ackRing/64)
		a.lostBits = make([]uint64, ackRing/64)
		a.resentBits = make([]uint64, ackRing/64)
	}
	i, m := bit(sn)
	if a.ackBits[i]&m == 0 {
		a.ackBits[i] |= m
		a.acked++
		a.delivered++
	}
	if a.lostBits[i]&m != 0 { // late, not lost
		a.lostBits[i] &^= m
		a.lostNow--
	}
	if int32(sn-a.high) > 0 {
		a.high = sn
		a.findLost()
	}
}

// resent notes that sn was sent again: it is in the network again.
func (a *ackTrack) resent(sn uint32) {
	if !a.within(sn) || a.ackBits == nil {
		return
	}
	i, m := bit(sn)
	a.resentBits[i] |= m
	if a.lostBits[i]&m != 0 {
		a.lostBits[i] &^= m
		a.lostNow--
	}
}

// findLost marks lost the segments neither acknowledged nor sent again
// that the highest ACK has now passed by dupThresh or more.
func (a *ackTrack) findLost() {
	end := a.high - dupThresh + 1 // the first segment not to judge yet
	if int32(end-a.lostMark) <= 0 {
		return
	}
	if end-a.lostMark > ackRing {
		a.lostMark = end - ackRing
	}
	for sn := a.lostMark; sn != end; sn++ {
		i, m := bit(sn)
		lost := (a.ackBits[i]|a.resentBits[i])&m == 0
		if lost {
			a.lostBits[i] |= m
			a.lostNow++
			a.lost++
		}
		if a.judged != nil {
			a.judged(sn, lost)
		}
	}
	a.lostMark = end
}

// gone returns how many segments from una up are out of the network and
// will not come back into it: those acknowledged.
func (a *ackTrack) gone() int { return a.acked }

// has reports whether the peer has sn: below its una, or acknowledged.
func (a *ackTrack) has(sn uint32) bool {
	switch {
	case !a.started:
		return false
	case int32(sn-a.una) < 0:
		return true
	case !a.within(sn) || a.ackBits == nil:
		return false
	}
	i, m := bit(sn)
	return a.ackBits[i]&m != 0
}

// inNetwork returns how many of the segments from una to one past
// maxSn are in the network: neither acknowledged nor lost.
func (a *ackTrack) inNetwork(next uint32) int {
	return max(int(int32(next-a.una))-a.acked-a.lostNow, 0)
}

// rttRingFor returns how many segments' send times a peer remembers: a
// power of two no smaller than the send window (at least 1024), so that a
// segment's entry outlives its round trip.
func rttRingFor(sndwnd int) int {
	n := 1024
	for n < sndwnd && n < ackRing {
		n *= 2
	}
	return n
}

// rttTrack times segments from the moment they leave (after any pacing)
// to their ACK, first transmissions only (a resent segment's ACK may be
// for either copy). kcp-go's own RTT counts from when a segment entered
// its output, so it includes what waits in the pacer.
//
// For a segment sent again it keeps the KCP timestamp of the last copy:
// the peer's ACK echoes the timestamp of the copy it got, so an ACK with
// an older one shows the resend was not needed (the first copy arrived
// late, or FEC rebuilt it). kcp-go's fast resend needs only two later
// segments acknowledged, so it can resend what FEC is about to rebuild,
// and its timeout resends segments whose ACKs are merely late.
type rttTrack struct {
	sent []sentAt // size entries (a power of two), made at the first send
	size int

	min, sum time.Duration // of the samples since the last take
	n        int
}

type sentAt struct {
	sn       uint32
	resentTs uint32 // the KCP timestamp of the last copy, when resent
	resent   bool   // sent again, and not yet acknowledged
	at       int64  // unix ns; 0: no sample (resent, or already acknowledged)
}

// send notes that segment sn (KCP timestamp ts) leaves now, for the first
// time or again.
func (r *rttTrack) send(sn, ts uint32, now time.Time, first bool) {
	if r.sent == nil {
		r.sent = make([]sentAt, r.size)
	}
	e := &r.sent[sn%uint32(r.size)]
	if first {
		*e = sentAt{sn: sn, at: now.UnixNano()}
	} else if e.sn == sn {
		e.at, e.resent, e.resentTs = 0, true, ts
	}
}

// acked takes the ACK of sn, which echoes timestamp ts: an RTT sample
// for a first transmission; for a resent segment, whether the resend was
// spurious (the ACK is of an earlier copy).
func (r *rttTrack) acked(sn, ts uint32, now time.Time) (spurious bool) {
	if r.sent == nil {
		return false
	}
	e := &r.sent[sn%uint32(r.size)]
	if e.sn != sn {
		return false
	}
	if e.resent {
		e.resent = false
		return int32(e.resentTs-ts) > 0
	}
	if e.at == 0 {
		return false
	}
	rtt := time.Duration(now.UnixNano() - e.at)
	e.at = 0
	if rtt <= 0 {
		return false
	}
	if r.n == 0 || rtt < r.min {
		r.min = rtt
	}
	r.sum += rtt
	r.n++
	return false
}

// take returns the least and the mean RTT since the last take (0, 0: no
// sample).
func (r *rttTrack) take() (least, mean time.Duration) {
	if r.n == 0 {
		return 0, 0
	}
	least, mean = r.min, r.sum/time.Duration(r.n)
	r.min, r.sum, r.n = 0, 0, 0
	return least, mean
}

// spanTrack follows, for the data one peer sends us, how far above our
// una (what we ask for next) it has sent: when that reaches our receive
// window, the window is what holds the peer back.
type spanTrack struct {
	started bool   // a segment arrived
	haveUna bool   // we sent an una
	next    uint32 // one past the highest segment received
	una     uint32 // our una as last sent
	peak    int    // the most next − una since the last take
}

func (s *spanTrack) received(sn uint32) {
	switch {
	case !s.started:
		s.started, s.next = true, sn+1
		if !s.haveUna {
			s.una = sn
		}
	case int32(sn+1-s.next) > 0:
		s.next = sn + 1
	}
	if span := int(int32(s.next - s.una)); span > s.peak {
		s.peak = span
	}
}

func (s *spanTrack) sent(una uint32) {
	if !s.haveUna || int32(una-s.una) > 0 {
		s.una, s.haveUna = una, true
	}
}

// take returns the peak span since the last take and starts a new one.
func (s *spanTrack) take() int {
	p := s.peak
	s.peak = max(int(int32(s.next-s.una)), 0)
	return p
}

// segment is the header of one KCP segment.
type segment struct {
	conv        uint32
	cmd         byte
	ts, sn, una uint32
	dataSize    int
}

// nextSegment parses the segment at the start of segs and returns it and
// the bytes after it; ok is false when segs holds no whole segment.
func nextSegment(segs []byte) (seg segment, rest []byte, ok bool) {
	if len(segs) < kcpSegHeader {
		return seg, nil, false
	}
	size := binary.LittleEndian.Uint32(segs[20:])
	if size > uint32(len(segs)-kcpSegHeader) {
		return seg, nil, false
	}
	seg = segment{
		conv: binary.LittleEndian.Uint32(segs), cmd: segs[4], ts: binary.LittleEndian.Uint32(segs[8:]),
		sn: binary.LittleEndian.Uint32(segs[12:]), una: binary.LittleEndian.Uint32(segs[16:]),
		dataSize: int(size),
	}
	return seg, segs[kcpSegHeader+int(size):], true
}

// segments yields the whole segments at the start of segs.
func segments(segs []byte) iter.Seq[segment] {
	return func(yield func(segment) bool) {
		for {
			seg, rest, ok := nextSegment(segs)
			if !ok || !yield(seg) {
				return
			}
			segs = rest
		}
	}
}

// fecPayload returns the KCP segments of a packet (after the seal): those
// of an FEC data packet, nothing for a parity shard or a malformed one.
func fecPayload(p []byte) []byte {
	if len(p) < fecHeader+fecSizeField || binary.LittleEndian.Uint16(p[4:]) != fecTypeData {
		return nil
	}
	end := min(fecHeader+int(binary.LittleEndian.Uint16(p[fecHeader:])), len(p))
	if end < fecHeader+fecSizeField {
		return nil
	}
	return p[fecHeader+fecSizeField : end]
}

// pushRange returns the first and last sequence numbers of the data
// segments in segs, and whether it holds any: only those are paced,
// never a packet of ACKs alone.
func pushRange(segs []byte) (lo, hi uint32, ok bool) {
	for seg := range segments(segs) {
		if seg.cmd != kcpCmdPush {
			continue
		}
		if !ok {
			lo, ok = seg.sn, true
		}
		hi = seg.sn
	}
	return lo, hi, ok
}
