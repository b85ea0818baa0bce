package vectors

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/transport"
)

// replayConn is a net.PacketConn whose ReadFrom returns recorded datagrams
// in order and then blocks until Close; WriteTo discards (the replayed
// session's ACKs). After the first datagram, which makes kcp-go create the
// session, it waits for open() so the session can be configured before
// the rest arrives.
type replayConn struct {
	pkts    [][]byte
	next    int // only touched by the listener's reader goroutine
	gate    chan struct{}
	drained chan struct{} // closed when every datagram has been processed
	closed  chan struct{}
	once    sync.Once
}

var replayPeer = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 29900}

func newReplayConn(pkts [][]byte) *replayConn {
	return &replayConn{pkts: pkts, gate: make(chan struct{}), drained: make(chan struct{}), closed: make(chan struct{})}
}

func (c *replayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.next == 1 {
		select {
		case <-c.gate:
		case <-c.closed:
			return 0, nil, net.ErrClosed
		}
	}
	if c.next < len(c.pkts) {
		n := copy(b, c.pkts[c.next])
		c.next++
		return n, replayPeer, nil
	}
	if c.next == len(c.pkts) {
		c.next++
		close(c.drained) // the reader is back: the last datagram was processed
	}
	<-c.closed
	return 0, nil, net.ErrClosed
}

func (c *replayConn) open() { close(c.gate) }

func (c *replayConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }
func (c *replayConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
func (c *replayConn) LocalAddr() net.Addr                { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *replayConn) SetDeadline(t time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(t time.Time) error { return nil }

const replayTimeout = 10 * time.Second

// replayKCP feeds one direction's datagrams to a kcp-go listener and
// returns the first n bytes of the accepted session's stream, failing if
// the session holds any byte more. sealed puts a transport.SealConn (what
// --mode auto runs on) under the listener, which then has no cipher.
func replayKCP(t *testing.T, block kcp.BlockCrypt, ds, ps int, pkts [][]byte, n int, sealed bool) []byte {
	t.Helper()
	pc := newReplayConn(pkts)
	var conn net.PacketConn = pc
	if sealed {
		conn = transport.NewSealConn(pc, block, &config.Common{DataShard: ds, ParityShard: ps})
		block = nil
	}
	l, err := kcp.ServeConn(block, ds, ps, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer l.Close()
	l.SetDeadline(time.Now().Add(replayTimeout))
	s, err := l.AcceptKCP()
	if err != nil {
		t.Fatalf("no KCP session from the first datagram: %v", err)
	}
	defer s.Close()
	s.SetStreamMode(true)
	s.SetWindowSize(4096, 4096)
	s.SetNoDelay(1, 10, 2, 1)
	pc.open()

	s.SetReadDeadline(time.Now().Add(replayTimeout))
	stream := make([]byte, n)
	if k, err := io.ReadFull(s, stream); err != nil {
		t.Fatalf("KCP stream: got %d of %d bytes: %v", k, n, err)
	}
	select {
	case <-pc.drained:
	case <-time.After(replayTimeout):
		t.Fatal("kcp-go did not consume every datagram")
	}
	s.SetReadDeadline(time.Now())
	var extra [1]byte
	if k, err := s.Read(extra[:]); k > 0 || !isTimeout(err) {
		t.Fatalf("KCP stream longer than %d bytes (read %d more, %v)", n, k, err)
	}
	return stream
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// byteConn is a net.Conn reading from a byte slice and recording writes,
// to run the project's conn wrappers over recorded bytes.
type byteConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func newByteConn(b []byte) *byteConn { return &byteConn{in: bytes.NewReader(b)} }

func (c *byteConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *byteConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *byteConn) Close() error                     { return nil }
func (c *byteConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *byteConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *byteConn) SetDeadline(time.Time) error      { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }
