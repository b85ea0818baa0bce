package netem

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

func newTestPair(t testing.TB, ab, ba Spec, opts ...Option) (a, b *Conn) {
	t.Helper()
	a, b, err := NewPair(ab, ba, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestPairCarriesDatagramsBothWaysWithPeerAddress(t *testing.T) {
	a, b := newTestPair(t, Spec{Delay: time.Millisecond}, Spec{})
	buf := make([]byte, 100)
	for _, tt := range []struct {
		name     string
		from, to *Conn
	}{{"a→b", a, b}, {"b→a", b, a}} {
		if _, err := tt.from.WriteTo([]byte("hello "+tt.name), tt.to.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		n, addr, err := tt.to.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != "hello "+tt.name || addr.String() != tt.from.LocalAddr().String() {
			t.Errorf("%s: read %q from %v, want %q from %v", tt.name, buf[:n], addr, "hello "+tt.name, tt.from.LocalAddr())
		}
	}
	if _, ok := a.LocalAddr().(*net.UDPAddr); !ok {
		t.Errorf("default address %T is not a *net.UDPAddr (kcp-go compares those)", a.LocalAddr())
	}
	st := a.Stats()
	if st.Up.Delivered != 1 || st.Down.Delivered != 1 || st.Up.BytesOut != uint64(len("hello a→b")) {
		t.Errorf("a's stats %+v: want one datagram each way", st)
	}
}

func TestPairReadFromTruncatesLikeUDP(t *testing.T) {
	a, b := newTestPair(t, Spec{}, Spec{})
	a.WriteTo([]byte("0123456789"), nil)
	small := make([]byte, 4)
	n, _, err := b.ReadFrom(small)
	if err != nil || n != 4 || string(small) != "0123" {
		t.Errorf("ReadFrom into 4 bytes = %d %q %v, want 4 \"0123\"", n, small[:n], err)
	}
}

func TestReadDeadline(t *testing.T) {
	a, b := newTestPair(t, Spec{}, Spec{})
	start := time.Now()
	b.SetReadDeadline(start.Add(20 * time.Millisecond))
	_, _, err := b.ReadFrom(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ReadFrom past the deadline = %v, want a timeout", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("timed out after %v, before the 20ms deadline", waited)
	}
	// Already past: fails at once, even with data waiting.
	a.WriteTo([]byte("x"), nil)
	if _, _, err := b.ReadFrom(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ReadFrom with an expired deadline = %v", err)
	}
	// Cleared: the waiting datagram is read.
	b.SetReadDeadline(time.Time{})
	if n, _, err := b.ReadFrom(make([]byte, 10)); err != nil || n != 1 {
		t.Errorf("ReadFrom after clearing the deadline = %d, %v", n, err)
	}
}

func TestCloseUnblocksReaderWithErrClosed(t *testing.T) {
	a, _ := newTestPair(t, Spec{}, Spec{})
	errc := make(chan error, 1)
	go func() {
		_, _, err := a.ReadFrom(make([]byte, 10))
		errc <- err
	}()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked ReadFrom returned %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if _, err := a.WriteTo([]byte("x"), nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo after Close = %v, want net.ErrClosed", err)
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
}

func TestFullReceiveQueueDropsLikeASocket(t *testing.T) {
	a, b := newTestPair(t, Spec{}, Spec{}, WithRecvQueue(4))
	for i := range 10 {
		a.WriteTo(seqPacket(uint64(i), 8), nil)
	}
	eventually(t, 5*time.Second, "10 deliveries", func() bool {
		st := b.Stats().Down
		return st.Delivered+st.RecvDrops == 10
	})
	if st := b.Stats().Down; st.Delivered != 4 || st.RecvDrops != 6 {
		t.Errorf("down stats %v: want 4 delivered, 6 dropped by the full queue", st)
	}
	buf := make([]byte, 8)
	for i := range 4 {
		if n, _, err := b.ReadFrom(buf); err != nil || n != 8 || buf[7] != byte(i) {
			t.Fatalf("read %d: %v %v, want packet %d", i, buf[:n], err, i)
		}
	}
}

// TestKCPSessionOverLossyPair is what the pair is for: a kcp-go client and
// server exchanging data intact over a link that loses and delays packets.
func TestKCPSessionOverLossyPair(t *testing.T) {
	link := Spec{Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.05}
	a, b := newTestPair(t, link, link, WithSeed(9))

	ln, err := kcp.ServeConn(nil, 0, 0, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cli, err := kcp.NewConn(b.LocalAddr().String(), nil, 0, 0, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	cli.SetNoDelay(1, 10, 2, 1)
	cli.SetWindowSize(256, 256)

	// The server echoes one stream back.
	go func() {
		s, err := ln.AcceptKCP()
		if err != nil {
			return
		}
		defer s.Close()
		s.SetNoDelay(1, 10, 2, 1)
		s.SetWindowSize(256, 256)
		io.Copy(s, s)
	}()

	payload := make([]byte, 256<<10)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	go cli.Write(payload)
	cli.SetReadDeadline(time.Now().Add(20 * time.Second))
	echo := make([]byte, len(payload))
	if _, err := io.ReadFull(cli, echo); err != nil {
		t.Fatalf("reading the echo: %v (link %v / %v)", err, a.Stats().Up, a.Stats().Down)
	}
	if !bytes.Equal(echo, payload) {
		t.Fatal("echo differs from what was sent")
	}
	if st := a.Stats(); st.Up.LossDrops == 0 || st.Down.LossDrops == 0 {
		t.Errorf("no packets lost (%v / %v): the test did not exercise loss", st.Up, st.Down)
	}
}

func TestWrapImpairsARealSocketBothWays(t *testing.T) {
	echoAddr, _ := startUDPEcho(t)
	sock, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	const up, down = 10 * time.Millisecond, 15 * time.Millisecond
	c, err := Wrap(sock, Spec{Delay: up}, Spec{Delay: down})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.LocalAddr().String() != sock.LocalAddr().String() {
		t.Errorf("LocalAddr %v, want the socket's %v", c.LocalAddr(), sock.LocalAddr())
	}
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var rtts []time.Duration
	for i := range 10 {
		start := time.Now()
		msg := seqPacket(uint64(i), 16)
		if _, err := c.WriteTo(msg, echoAddr); err != nil {
			t.Fatal(err)
		}
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		rtt := time.Since(start)
		if !bytes.Equal(buf[:n], msg) || from.String() != echoAddr.String() {
			t.Fatalf("got %x from %v, want %x from %v", buf[:n], from, msg, echoAddr)
		}
		if rtt < up+down {
			t.Errorf("round trip %v, shorter than the %v of delay", rtt, up+down)
		}
		rtts = append(rtts, rtt)
	}
	if med := quantile(durationsSorted(rtts), 0.5); med > up+down+10*time.Millisecond {
		t.Errorf("median round trip %v, want just over %v", med, up+down)
	}
	if st := c.Stats(); st.Up.Delivered != 10 || st.Down.Delivered != 10 {
		t.Errorf("stats %+v: want 10 each way", st)
	}
	if _, err := c.WriteTo([]byte("x"), nil); err == nil {
		t.Error("WriteTo a nil address succeeded on a wrapped socket")
	}
}

// startUDPEcho runs a UDP echo server on 127.0.0.1 and returns its address
// and a channel of the source addresses it served.
func startUDPEcho(t testing.TB) (*net.UDPAddr, <-chan net.Addr) {
	t.Helper()
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	sources := make(chan net.Addr, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case sources <- from:
			default:
			}
			srv.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { srv.Close(); <-done })
	return srv.LocalAddr().(*net.UDPAddr), sources
}
