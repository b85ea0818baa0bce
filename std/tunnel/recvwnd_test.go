package tunnel

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/flow"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
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
	dial, pc := lossyLink(t, "loss=10%,delay=10ms")
	log := testLogger(t)
	ln, _, err := transport.Listen(pc, nil, &c, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	// The sender: kcp-go with a fixed window larger than the receiver's,
	// so that only the receive window limits it. It sends until closed.
	sender := make(chan net.Conn, 1)
	sent := make(chan error, 1)
	go func() {
		s, err := ln.AcceptKCP()
		if err != nil {
			sent <- err
			return
		}
		sender <- s
		transport.TuneSession(s, &c)
		var req [1]byte
		if _, err := io.ReadFull(s, req[:]); err != nil {
			sent <- err
			return
		}
		chunk := make([]byte, 64<<10)
		for {
			if _, err := s.Write(chunk); err != nil {
				sent <- nil // closed by the test
				return
			}
		}
	}()

	sess, err := transport.Dial(context.Background(), dial, pc.LocalAddr().String(), nil, &c, log)
	if err != nil {
		t.Fatal(err)
	}
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
	close(stop)
	<-sampled
	sess.Close()
	(<-sender).Close()
	if err := <-sent; err != nil {
		t.Errorf("sender: %v", err)
	}
	if wnd == 0 {
		t.Fatalf("the receive window stayed at %d over %d MB received with the sender at its edge", ft.recv.Wnd(), read>>20)
	}
	t.Logf("receive window %d after %d kB", wnd, read>>10)
}
