package tunnel

import (
	"io"
	"net"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/flow"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/netem"
	"github.com/kcptun-go/tunnel/std/transport"
)

// A receive window that holds the peer back grows even when the rate it
// measures would not ask for more: over a lossy link a sender stands at
// the window's edge while a hole is repaired, and sends less than it
// could, so the rate shows the need late or never. flowTuner.sample hands
// the SealConn's span (what the peer sent beyond our first missing
// segment) to the RecvWindow. Here the tuner is told of no bytes read, so
// the span is the only way its window can leave the floor.
func TestReceiveWindowGrowsWhenThePeerReachesItsEdge(t *testing.T) {
	testnet.CheckLeaks(t)
	c := config.DefaultClient().Common
	testCommon(&c)
	c.SndWnd, c.RcvWnd = 4096, 4096 // the ceilings; the tuner starts at flow.RecvFloor
	if !c.SeesACKs() {
		t.Fatal("the test needs the sessions on a SealConn (FEC on, a cipher that is not an AEAD)")
	}
	// Two sessions of one conversation, each on a SealConn, joined by the
	// link (no listener: one would make a session of a packet that came
	// after the test closed its own, and nothing would close that one).
	spec, err := netem.ParseSpec("loss=10%,delay=10ms")
	if err != nil {
		t.Fatal(err)
	}
	a, b, err := netem.NewPair(spec, spec, netem.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	open := func(pc, to net.PacketConn) *kcp.UDPSession {
		t.Helper()
		s, err := kcp.NewConn4(7, to.LocalAddr(), nil, c.DataShard, c.ParityShard, true, transport.NewSealConn(pc, nil, &c))
		if err != nil {
			t.Fatal(err)
		}
		transport.TuneSession(s, &c)
		return s
	}
	sess, server := open(a, b), open(b, a)
	t.Cleanup(func() { sess.Close(); server.Close() }) // closes a and b

	// The sender: kcp-go with a fixed window larger than the receiver's,
	// so that only the receive window limits it. It sends until closed.
	sent := make(chan error, 1)
	go func() {
		var req [1]byte
		if _, err := io.ReadFull(server, req[:]); err != nil {
			sent <- err
			return
		}
		chunk := make([]byte, 64<<10)
		for {
			if _, err := server.Write(chunk); err != nil {
				sent <- nil // closed by the test
				return
			}
		}
	}()

	peer := transport.PeerOf(sess)
	if peer == nil {
		t.Fatal("the client session is not on a SealConn")
	}
	ft, conn := newFlowTuner(sess, &c, peer)
	if ft.recv.Wnd() != flow.RecvFloor {
		t.Fatalf("receive window %d at the start, want %d", ft.recv.Wnd(), flow.RecvFloor)
	}
	if _, err := conn.Write([]byte{1}); err != nil { // gives the tuner a round trip
		t.Fatal(err)
	}

	// Sample as runFlow would while reading; the tuner hears of no bytes read.
	grown, stop := make(chan int, 1), make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(flowEveryBusy)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				ft.sample(now)
				var si SessionInfo
				ft.fill(&si)
				if si.RcvWnd > flow.RecvFloor {
					grown <- si.RcvWnd
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-sampled }()
	buf := make([]byte, 64<<10)
	const limit = 64 << 20
	read, wnd := 0, 0
	for wnd == 0 && read < limit {
		select {
		case wnd = <-grown:
		default:
		}
		sess.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read after %d kB: %v", read>>10, err)
		}
		read += n
	}
	sess.Close()
	server.Close()
	if err := <-sent; err != nil {
		t.Errorf("sender: %v", err)
	}
	if wnd == 0 {
		t.Fatalf("the receive window stayed at %d over %d MB received with the sender at its edge", ft.recv.Wnd(), read>>20)
	}
	t.Logf("receive window %d after %d kB", wnd, read>>10)
}
