package transport

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The estimate follows the share of data shards that do not arrive,
// whatever the parity shards do (a sender under --mode auto leaves some
// out: the SealConn's numbering skips them), takes a late shard back,
// leaves copies alone, and starts afresh on a jump.
func TestInLossMeasuresTheDataShardsMissing(t *testing.T) {
	s, _, _ := newRecordSeal(t, "null") // FEC 10/3
	if s.ds != 10 || s.ps != 3 {
		t.Fatalf("the test wants FEC 10/3, has %d/%d", s.ds, s.ps)
	}
	feed := func(l *inLoss, seqid uint32) {
		if idx, data := s.dataIndex(seqid); data {
			l.arrived(idx)
		}
	}
	for _, want := range []float64{0, 0.02, 0.10} {
		var l inLoss
		rng := rand.New(rand.NewPCG(1, 2))
		seqid := uint32(0)
		for range 4000 { // groups
			for i := range s.ds + s.ps {
				if i < s.ds && rng.Float64() >= want {
					feed(&l, seqid)
				}
				if i >= s.ds && i%2 == 0 {
					feed(&l, seqid) // half the parity: not counted
				}
				seqid++
			}
		}
		if math.Abs(l.rate-want) > 0.01+want/4 {
			t.Errorf("at %.0f %% loss the estimate is %.2f %%", 100*want, 100*l.rate)
		}
	}
	var l inLoss
	for _, id := range []uint32{0, 2, 4, 6, 8, 13} { // 1, 3, 5, 7 and 9 are missing (10–12: parity)
		feed(&l, id)
	}
	missed := l.rate
	feed(&l, 3) // late, not lost
	if l.rate >= missed {
		t.Errorf("a late shard leaves the estimate at %v (was %v)", l.rate, missed)
	}
	late := l.rate
	for _, id := range []uint32{3, 4, 8, 13, 13} { // copies, as of a thin session's packets
		feed(&l, id)
	}
	if l.rate != late {
		t.Errorf("copies of shards that arrived moved the estimate from %v to %v", late, l.rate)
	}
	feed(&l, 1e6) // a new numbering: no loss counted for the jump
	if l.rate >= missed {
		t.Errorf("a jump in the numbering raised the estimate to %v", l.rate)
	}
}

// While the peer's data shards are lost, a packet of ACKs alone goes out
// twice (a lost one makes a kcp-go sender resend every segment it
// acknowledged); on a clean path it goes once.
func TestACKPacketsGoTwiceWhileThePeersPacketsAreLost(t *testing.T) {
	s, rc, to, _ := ackPeer(t)
	acks := func(seqid uint32) int {
		t.Helper()
		before := rc.sent(s)
		if _, err := s.WriteTo(fecPacket(seqid, fecTypeData, ackSeg(0, 7, 0), ackSeg(0, 8, 0)), to); err != nil {
			t.Fatal(err)
		}
		return rc.sent(s) - before
	}
	in := uint32(0) // the peer's seqids
	peerSends := func(groups int, lose int) {
		for range groups {
			for i := range 13 {
				if i < 10 && i >= lose {
					receive(t, s, rc, fecPacket(in, fecTypeData, pushSeg(in, 100)))
				}
				in++
			}
		}
	}
	peerSends(100, 0)
	if n := acks(0); n != 1 {
		t.Errorf("on a clean path a packet of ACKs went %d times, want 1", n)
	}
	peerSends(100, 1) // one data shard in ten lost
	if n := acks(1); n != 2 {
		t.Errorf("with 10 %% of the peer's packets lost a packet of ACKs went %d times, want 2", n)
	}
	if got := s.Peer(to).Duplicated(); got != 1 {
		t.Errorf("Duplicated() = %d, want 1", got)
	}
	// A download's data goes once, loss or not: only ACKs alone are copied.
	for sn := range uint32(3 * thinFlight) {
		before := rc.sent(s)
		if _, err := s.WriteTo(fecPacket(2+sn, fecTypeData, pushSeg(sn, bulkData)), to); err != nil {
			t.Fatal(err)
		}
		if n := rc.sent(s) - before; sn >= thinFlight && n != 1 {
			t.Errorf("data segment %d of a bulk session went %d times at 10 %% loss, want 1", sn, n)
		}
	}
	peerSends(300, 0)
	if n := acks(100); n != 1 {
		t.Errorf("after the loss ended a packet of ACKs went %d times, want 1", n)
	}
}
