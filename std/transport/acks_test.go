package transport

import (
	"encoding/binary"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/flow"
)

func ackSeg(conv, sn, una uint32) []byte {
	s := make([]byte, kcpSegHeader)
	binary.LittleEndian.PutUint32(s, conv)
	s[4] = kcpCmdAck
	binary.LittleEndian.PutUint32(s[12:], sn)
	binary.LittleEndian.PutUint32(s[16:], una)
	return s
}

// ackPeer is a SealConn with no cipher whose clock the test moves, and
// the address its recordConn reads from.
func ackPeer(t *testing.T) (s *SealConn, rc *recordConn, to net.Addr, clock *time.Time) {
	t.Helper()
	s, rc, _ = newRecordSeal(t, "null")
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	return s, rc, &net.UDPAddr{}, &now
}

// receive hands the SealConn one packet from the peer and reads it.
func receive(t *testing.T, s *SealConn, rc *recordConn, p []byte) {
	t.Helper()
	rc.in <- p
	buf := make([]byte, 1500)
	if n, _, err := s.ReadFrom(buf); err != nil || n != len(p) {
		t.Fatalf("ReadFrom: %d, %v; want the %d bytes", n, err, len(p))
	}
}

// TestPeerCountsWhatTheACKsSay: 100 segments out, ACKs for 10–19 with
// the first ten missing. The ten missing are lost (three or more later
// ones arrived), so they and the ten acknowledged are out of the
// network; the rest are in flight. Sent again, the ten are in flight
// again. Only the acknowledged ones are Gone: kcp-go resends the lost
// ones without room in its window.
func TestPeerCountsWhatTheACKsSay(t *testing.T) {
	s, rc, to, clock := ackPeer(t)
	for sn := uint32(0); sn < 100; sn++ {
		s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, 100)), to)
	}
	*clock = clock.Add(100 * time.Millisecond)
	var acks [][]byte
	for sn := uint32(10); sn < 20; sn++ {
		acks = append(acks, ackSeg(0, sn, 0))
	}
	receive(t, s, rc, fecPacket(0, fecTypeData, acks...))
	p := s.Peer(to)
	check := func(when string, delivered uint64, lost uint64, gone, inFlight int, rtt time.Duration) {
		t.Helper()
		s := p.TakeRateSample(*clock)
		if s.Delivered != delivered || s.Lost != lost || s.InFlight != inFlight {
			t.Errorf("%s: delivered %d lost %d in flight %d, want %d, %d, %d", when, s.Delivered, s.Lost, s.InFlight, delivered, lost, inFlight)
		}
		if got := p.Gone(); got != gone {
			t.Errorf("%s: Gone %d, want %d", when, got, gone)
		}
		if s.MinRTT != rtt || s.RTT != rtt {
			t.Errorf("%s: RTT %v/%v, want %v (0: no new sample)", when, s.MinRTT, s.RTT, rtt)
		}
	}
	check("ACKs for 10–19", 10, 10, 10, 80, 100*time.Millisecond)

	for sn := uint32(0); sn < 10; sn++ { // sent again
		s.WriteTo(fecPacket(100+sn, fecTypeData, pushSeg(sn, 100)), to)
	}
	check("the ten sent again", 10, 10, 10, 90, 0)

	// They arrive: una moves to 20.
	receive(t, s, rc, fecPacket(1, fecTypeData, ackSeg(0, 0, 20)))
	check("una 20", 20, 10, 0, 80, 0)
}

func TestAResentSegmentGivesNoRTTSample(t *testing.T) {
	s, rc, to, clock := ackPeer(t)
	s.WriteTo(fecPacket(0, fecTypeData, pushSeg(0, 10)), to)
	*clock = clock.Add(300 * time.Millisecond)
	s.WriteTo(fecPacket(1, fecTypeData, pushSeg(0, 10)), to) // sent again
	*clock = clock.Add(10 * time.Millisecond)
	receive(t, s, rc, fecPacket(0, fecTypeData, ackSeg(0, 0, 1)))
	rs := s.Peer(to).TakeRateSample(*clock)
	if rs.MinRTT != 0 || rs.RTT != 0 {
		t.Errorf("RTT %v/%v from a resent segment's ACK, want none (either copy may be the one acknowledged)", rs.MinRTT, rs.RTT)
	}
	if rs.Delivered != 1 {
		t.Errorf("delivered %d, want 1", rs.Delivered)
	}
}

func TestANewConversationStartsTheCountsAfresh(t *testing.T) {
	s, rc, to, _ := ackPeer(t)
	for sn := uint32(0); sn < 50; sn++ {
		s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, 10)), to)
	}
	receive(t, s, rc, fecPacket(0, fecTypeData, ackSeg(0, 40, 30)))
	seg := pushSeg(0, 10)
	binary.LittleEndian.PutUint32(seg, 7) // conv 7: a new session from the same address
	s.WriteTo(fecPacket(50, fecTypeData, seg), to)
	p := s.Peer(to)
	if got := p.TakeRateSample(time.Time{}).InFlight; got != 1 {
		t.Errorf("in flight %d of the new session, want 1 (its one segment, none of the old session's)", got)
	}
	receive(t, s, rc, fecPacket(1, fecTypeData, ackSeg(7, 0, 1)))
	if got := p.TakeRateSample(time.Time{}).Delivered; got != 1 {
		t.Errorf("delivered %d in the new session, want 1", got)
	}
}

func TestRecvSpanShowsAPeerHeldByTheWindow(t *testing.T) {
	s, rc, to, _ := ackPeer(t)
	// We ask for segment 0 (it was lost); the peer sends 1–499.
	s.WriteTo(fecPacket(0, fecTypeData, ackSeg(0, 0, 0)), to)
	for sn := uint32(1); sn < 500; sn++ {
		receive(t, s, rc, fecPacket(sn, fecTypeData, pushSeg(sn, 10)))
	}
	p := s.Peer(to)
	if got := p.TakeRecvSpan(); got != 500 {
		t.Errorf("span %d, want 500 (segments 0–499 above our una 0)", got)
	}
	s.WriteTo(fecPacket(1, fecTypeData, ackSeg(0, 0, 500)), to) // all arrived
	p.TakeRecvSpan()
	if got := p.TakeRecvSpan(); got != 0 {
		t.Errorf("span %d after our una caught up, want 0", got)
	}
}

// TestPacedPeerSendsNoFasterThanItsRate times real sends: 60 data
// packets of 1000 bytes at 200 kB/s leave over at least 59 × 5 ms less
// the slack (the first leaves at once) and what one may leave ahead of
// time; packets of ACKs alone are not paced. (That WriteTo does not wait
// for them: TestPacingOnePeerHoldsBackNoOther.)
func TestPacedPeerSendsNoFasterThanItsRate(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	to := &net.UDPAddr{}
	s.Peer(to).SetPace(200e3)
	for sn := uint32(0); sn < 60; sn++ {
		p := fecPacket(sn, fecTypeData, pushSeg(sn, 1000-fecHeader-fecSizeField-kcpSegHeader))
		s.WriteTo(p, to)
	}
	s.out.idle()
	rc.mu.Lock()
	first, last := rc.when[0], rc.when[len(rc.when)-1]
	rc.mu.Unlock()
	if took, want := last.Sub(first), 295*time.Millisecond-paceSlack-paceAhead; took < want {
		t.Errorf("60 kB went in %v at 200 kB/s, want ≥ %v", took, want)
	}
	s.Peer(to).SetPace(1) // a byte a second
	for sn := uint32(0); sn < 100; sn++ {
		s.WriteTo(fecPacket(sn, fecTypeData, ackSeg(0, sn, 0)), to)
	}
	s.out.idle()                                                        // would take 100 s if ACKs were paced
	if want := 160 + int(s.Peer(to).Duplicated()); rc.sent(s) != want { // the first, thin, go twice
		t.Errorf("%d packets written, want %d", rc.sent(s), want)
	}
}

// A peer's paced packets wait in the SealConn, not in WriteTo, and hold
// back only that peer's: its packets leave in the order written (an ACK
// behind its data), another peer's at once. Close sends what is held.
func TestPacingOnePeerHoldsBackNoOther(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	rc.notify = make(chan net.Addr, 16)
	slow := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	other := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10}
	s.Peer(slow).SetPace(1) // a byte a second: the second packet waits ~20 minutes
	data := func(sn uint32) []byte { return fecPacket(sn, fecTypeData, pushSeg(sn, bulkData)) }
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for sn := range uint32(2 * thinFlight) { // past the thin start, so each goes once
			s.WriteTo(data(sn), slow)
		}
		s.WriteTo(fecPacket(0, fecTypeData, ackSeg(0, 0, 0)), slow)
		s.WriteTo(data(0), other)
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("WriteTo waited for the pacer")
	}
	// The first packet to each leaves at once (twice: a thin session's);
	// nothing else is due for minutes.
	for want := 4; want > 0; want-- {
		select {
		case <-rc.notify:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d packets not sent: a paced peer held back another", want)
		}
	}
	rc.mu.Lock()
	got := slices.Clone(rc.to)
	rc.mu.Unlock()
	if want := []net.Addr{slow, slow, other, other}; !slices.Equal(got, want) {
		t.Fatalf("sent to %v, want %v", got, want)
	}
	s.out.drain() // as Close does
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// Held: data 1–3 twice each (still thin), 4–7 once, then the ACK.
	if n, want := len(rc.written), 4+3*2+4+1; n != want {
		t.Fatalf("%d packets sent after draining, want %d", n, want)
	}
	for i, p := range rc.written[4:] {
		cmd, want := p[fecHeader+fecSizeField+4], byte(kcpCmdPush)
		if i == len(rc.written)-5 {
			want = kcpCmdAck
		}
		if cmd != want || rc.to[4+i] != slow {
			t.Errorf("held packet %d: command %d to %v, want %d to %v (the peer's, in order)", i, cmd, rc.to[4+i], want, slow)
		}
	}
}

// A window larger than 4096 segments (--sndwnd 8192) still gets RTT
// samples: a segment's send time is kept until its ACK comes, even with
// 6000 sent after it.
func TestRTTSamplesOutliveALargeWindow(t *testing.T) {
	c := commonFor(t, config.ModeAuto, "null")
	c.SndWnd = 8192
	rc := &recordConn{in: make(chan []byte, 8)}
	s := NewSealConn(rc, nil, c)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	to := &net.UDPAddr{}
	for sn := uint32(0); sn < 6000; sn++ {
		s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, 10)), to)
	}
	now = now.Add(300 * time.Millisecond)
	receive(t, s, rc, fecPacket(0, fecTypeData, ackSeg(0, 0, 0)))
	if got := s.Peer(to).TakeRateSample(now).MinRTT; got != 300*time.Millisecond {
		t.Errorf("RTT %v for the first of 6000 segments in flight, want 300ms", got)
	}
}

// A client's kcp-go sends to the address it resolved (an IPv4 address in
// 16 bytes) and reads the server's packets from the socket (in 4): the
// ACKs it reads must reach the Peer its data went out through, or its
// send control, its thin-session copies and its receive window see no
// ACK and no span (as they did not before).
func TestACKsReachThePeerWhateverTheFormOfItsIPv4Address(t *testing.T) {
	s, rc, _, _ := ackPeer(t)
	to, err := net.ResolveUDPAddr("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	rc.from = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1).To4(), Port: 9}
	if len(to.IP) == len(rc.from.IP) {
		t.Fatalf("the test wants two forms of one address: %d and %d bytes", len(to.IP), len(rc.from.IP))
	}
	for sn := range uint32(3) {
		if _, err := s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, 100)), to); err != nil {
			t.Fatal(err)
		}
	}
	receive(t, s, rc, fecPacket(0, fecTypeData, ackSeg(0, 2, 0)))
	if got := s.Peer(to).Gone(); got != 1 {
		t.Errorf("after the ACK of segment 2 of 0..2, Gone() = %d at the address sent to, want 1", got)
	}
	if s.Peer(to) != s.Peer(rc.from) {
		t.Error("the two forms of the address are two peers")
	}
}

// The ACKs a peer sends back while segments reach it back to back give
// the bottleneck's rate (Peer.TakeBottleneck): here 7 segments
// acknowledged every 10 ms, 700 a second, whatever copies of those
// packets and packets of data alone come in between.
func TestPeerReadsTheBottleneckFromItsACKs(t *testing.T) {
	s, rc, to, clock := ackPeer(t)
	for sn := uint32(0); sn < 200; sn++ {
		s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, 100)), to)
	}
	p := s.Peer(to)
	if got := p.TakeBottleneck(); got != 0 {
		t.Fatalf("before any ACK: %v seg/s, want 0 (unknown)", got)
	}
	seqid := uint32(0)
	for una := uint32(7); una <= 140; una += 7 {
		*clock = clock.Add(10 * time.Millisecond)
		ack := fecPacket(seqid, fecTypeData, ackSeg(0, una-1, una))
		receive(t, s, rc, ack)
		receive(t, s, rc, ack) // its copy
		receive(t, s, rc, fecPacket(seqid+1, fecTypeData, pushSeg(una, 100)))
		seqid += 2
	}
	if got := p.TakeBottleneck(); got < 690 || got > 710 {
		t.Errorf("bottleneck %v seg/s, want 700", got)
	}
}

// TestPeerBuysNoParityForBurstsOfLoss: windows of 1000 segments to a
// peer 120 ms away, of which four bursts of seven are lost and sent
// again (2.7 %, over the 2.5 % that asks for a shard there). The ACKs
// show the loss comes in runs FEC cannot repair (ackTrack's judgements
// reach the parity controller, also after a new session from the
// address), so under auto no shard is bought, and the share FEC could
// repair is known. Under fast3 every shard goes, and that share is not
// measured (what arrives there is what FEC left).
func TestPeerBuysNoParityForBurstsOfLoss(t *testing.T) {
	for _, mode := range []string{config.ModeAuto, "fast3"} {
		c := commonFor(t, mode, "null")
		rc := &recordConn{in: make(chan []byte, 8)}
		s := NewSealConn(rc, nil, c)
		var clock atomic.Int64 // the batch writer reads it too
		clock.Store(time.Unix(1000, 0).UnixNano())
		s.now = func() time.Time { return time.Unix(0, clock.Load()) }
		to := &net.UDPAddr{}
		st := sendBursts(t, s, rc, to, &clock)
		if st.Loss < 0.025 {
			t.Fatalf("%s: residual loss %.3f; the test wants it over the 2.5 %% that asks for a shard at 120 ms", mode, st.Loss)
		}
		if mode == config.ModeAuto && (st.Shards != 0 || st.Repairable < 0 || st.Repairable > 0.2) {
			t.Errorf("auto: %d parity shards, repairable %.2f, at residual loss %.3f in bursts of 7; want none, and a known share under 0.2", st.Shards, st.Repairable, st.Loss)
		}
		if mode != config.ModeAuto && (st.Shards != c.ParityShard || st.Repairable != -1) {
			t.Errorf("%s: %d parity shards, repairable %.2f; want all %d, and the share unknown (-1)", mode, st.Shards, st.Repairable, c.ParityShard)
		}
	}
}

// sendBursts sends ten windows of the bursts of TestPeerBuysNoParityForBurstsOfLoss
// and returns the peer's parity state after, failing if auto ever had a shard.
func sendBursts(t *testing.T, s *SealConn, rc *recordConn, to net.Addr, clock *atomic.Int64) flow.ParityState {
	t.Helper()
	lost := func(sn uint32) bool {
		i := sn % 1000
		return i%300 >= 100 && i%300 < 107 || i >= 900 && i < 907
	}
	var resend []uint32
	seqid := uint32(0)
	send := func(seg []byte) {
		s.WriteTo(fecPacket(seqid, fecTypeData, seg), to)
		seqid++
	}
	// A session before this one from the address: the counts start
	// afresh with the new conv, and the judgements must still be heard.
	old := pushSeg(0, 100)
	binary.LittleEndian.PutUint32(old, 5)
	send(old)
	for w := range uint32(10) {
		for _, sn := range resend {
			send(pushSeg(sn, 100))
		}
		resend = resend[:0]
		for sn := w * 1000; sn < (w+1)*1000; sn++ {
			send(pushSeg(sn, 100))
		}
		if w == 0 {
			s.Peer(to).SetRTT(120 * time.Millisecond)
		}
		clock.Add(int64(150 * time.Millisecond))
		var acks [][]byte
		for sn := w * 1000; sn < (w+1)*1000; sn++ {
			if lost(sn) {
				resend = append(resend, sn)
				continue
			}
			if acks = append(acks, ackSeg(0, sn, 0)); len(acks) == 50 {
				receive(t, s, rc, fecPacket(seqid, fecTypeData, acks...))
				acks = acks[:0]
			}
		}
		receive(t, s, rc, fecPacket(seqid, fecTypeData, acks...))
		clock.Add(int64(150 * time.Millisecond))
		if st := s.Peer(to).State(); s.adapt && st.Shards != 0 {
			t.Fatalf("window %d: %d parity shards at residual loss %.3f in bursts of 7, want none", w, st.Shards, st.Loss)
		}
	}
	return s.Peer(to).State()
}

// Every segment sent is judged once, in order of sn: lost when the ACKs
// passed it, not lost when acknowledged or when the peer's una passed it
// first. A receiver's ACK packets carry its una, which in a stretch with
// no loss is past every segment they acknowledge; those segments, the
// blocks with no loss, must reach the loss pattern too, or it counts
// only the blocks near a hole and says a parity shard repairs more than
// it would.
func TestEverySegmentIsJudgedOnce(t *testing.T) {
	var a ackTrack
	var got []uint32
	lostSeen := map[uint32]bool{}
	a.judged = func(sn uint32, lost bool) {
		got = append(got, sn)
		if lost {
			lostSeen[sn] = true
		}
	}
	missing := func(sn uint32) bool { return sn%100 == 37 } // one in a hundred, repaired later
	a.start(0)
	una := uint32(0)
	for sn := uint32(0); sn < 1000; sn++ {
		if missing(sn) {
			continue
		}
		if una == sn { // in order: the receiver's una moves past it
			una = sn + 1
		}
		a.advance(una)
		a.ack(sn)
		if sn%100 == 60 { // the hole's resend arrives: una moves past it and what came after
			una = sn + 1
			a.advance(una)
		}
	}
	a.advance(1000)
	if len(got) != 1000 {
		t.Fatalf("%d judgements for 1000 segments, want one each", len(got))
	}
	for i, sn := range got {
		if sn != uint32(i) {
			t.Fatalf("judgement %d is of segment %d, want them in order", i, sn)
		}
		if lostSeen[sn] != missing(sn) {
			t.Errorf("segment %d judged lost %v, want %v", sn, lostSeen[sn], missing(sn))
		}
	}
}
