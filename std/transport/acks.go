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
// the peer's una (the first it still misses) it has acknowledged. Those
// segments have left the network but still count in KCP's send window,
// which spans from una: while a loss is repaired they hold the window
// and the sender stalls. Their count is what the window may grow by so
// that what is in flight stays put.
//
// The ACKs it sees are those that arrive whole; one repaired by FEC
// below it is missed, so the count errs low.
type ackTrack struct {
	started bool
	una     uint32 // the peer's una: it has every segment below
	count   int    // ACKs at or above una
	high    uint32 // the highest segment acknowledged (or una − 1)
	// lost counts the segments found missing below the dupThresh-th
	// highest acknowledged one, in total; checked up to lostMark.
	lost     uint64
	lostMark uint32
	// delivered counts the segments the peer has, in total: those it
	// acknowledged and those its una passed with no ACK seen.
	delivered uint64
	bits      []uint64 // ackRing bits, made at the first ACK
}

// start begins the count at sn, the first segment sent.
func (a *ackTrack) start(sn uint32) {
	if !a.started {
		a.started, a.una, a.high, a.lostMark = true, sn, sn-1, sn
	}
}

// advance moves una forward, forgetting the ACKs below it.
func (a *ackTrack) advance(una uint32) {
	if !a.started {
		a.start(una)
		return
	}
	if int32(una-1-a.high) > 0 {
		a.high = una - 1
	}
	if int32(una-a.lostMark) > 0 {
		a.lostMark = una
	}
	d := una - a.una
	if int32(d) <= 0 {
		return
	}
	if d >= ackRing || a.count == 0 {
		if a.count > 0 {
			clear(a.bits)
		}
		a.delivered += uint64(d) - uint64(a.count)
		a.una, a.count = una, 0
		return
	}
	cleared := 0
	for sn := a.una; sn != una && a.count > 0; sn++ {
		i, m := sn%ackRing/64, uint64(1)<<(sn%64)
		if a.bits[i]&m != 0 {
			a.bits[i] &^= m
			a.count--
			cleared++
		}
	}
	a.delivered += uint64(d) - uint64(cleared)
	a.una = una
}

// ack notes an ACK for sn.
func (a *ackTrack) ack(sn uint32) {
	d := sn - a.una
	if int32(d) < 0 || d >= ackRing {
		return
	}
	if a.bits == nil {
		a.bits = make([]uint64, ackRing/64)
	}
	i, m := sn%ackRing/64, uint64(1)<<(sn%64)
	if a.bits[i]&m == 0 {
		a.bits[i] |= m
		a.count++
		a.delivered++
	}
	if int32(sn-a.high) > 0 {
		a.high = sn
		a.findLost()
	}
}

// findLost counts the segments not acknowledged that the highest ACK has
// now passed by more than dupThresh.
func (a *ackTrack) findLost() {
	end := a.high - dupThresh + 1 // the first segment not yet judged
	if int32(end-a.lostMark) <= 0 {
		return
	}
	if end-a.lostMark > ackRing {
		a.lostMark = end - ackRing
	}
	for sn := a.lostMark; sn != end; sn++ {
		if a.bits[sn%ackRing/64]&(uint64(1)<<(sn%64)) == 0 {
			a.lost++
		}
	}
	a.lostMark = end
}

// dupThresh is how many segments acknowledged above a missing one make
// it lost rather than late (reordered), as TCP's duplicate-ACK threshold.
const dupThresh = 3

// gone returns how many segments from una up are out of the network:
// acknowledged, or missing below the dupThresh-th highest acknowledged
// one and so lost. A lost one that is resent is in the network again,
// but as one of few: the count errs high by the resent share.
func (a *ackTrack) gone() int {
	span := int(int32(a.high + 1 - a.una))
	return max(span-dupThresh, a.count, 0)
}

// rttRing is how many segments' send times a peer remembers.
const rttRing = 4096

// rttTrack times segments from the moment they leave (after any pacing)
// to their ACK, first transmissions only (a resent segment's ACK may be
// for either copy). kcp-go's own RTT counts from when a segment entered
// its output, so it includes what waits in the pacer.
type rttTrack struct {
	sent []sentAt // rttRing entries, made at the first send

	min, sum time.Duration // of the samples since the last take
	n        int
}

type sentAt struct {
	sn uint32
	at int64 // unix ns; 0: no sample (resent, or already acknowledged)
}

func (r *rttTrack) send(sn uint32, now time.Time, first bool) {
	if r.sent == nil {
		r.sent = make([]sentAt, rttRing)
	}
	e := &r.sent[sn%rttRing]
	if first {
		*e = sentAt{sn: sn, at: now.UnixNano()}
	} else if e.sn == sn {
		e.at = 0
	}
}

func (r *rttTrack) acked(sn uint32, now time.Time) {
	if r.sent == nil {
		return
	}
	e := &r.sent[sn%rttRing]
	if e.sn != sn || e.at == 0 {
		return
	}
	rtt := time.Duration(now.UnixNano() - e.at)
	e.at = 0
	if rtt <= 0 {
		return
	}
	if r.n == 0 || rtt < r.min {
		r.min = rtt
	}
	r.sum += rtt
	r.n++
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
	conv     uint32
	cmd      byte
	sn, una  uint32
	dataSize int
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
		conv: binary.LittleEndian.Uint32(segs), cmd: segs[4],
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

// hasPush reports whether segs holds a data segment: only those are
// paced, never a packet of ACKs alone.
func hasPush(segs []byte) bool {
	for seg := range segments(segs) {
		if seg.cmd == kcpCmdPush {
			return true
		}
	}
	return false
}
