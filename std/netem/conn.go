package netem

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// Conn is a net.PacketConn whose datagrams pass through emulated links: one
// end of NewPair, or a socket wrapped by Wrap. ReadFrom returns the sender's
// address; SetReadDeadline works as on a socket (the write deadline is
// accepted and ignored: writes never block); Close unblocks readers with an
// error matching net.ErrClosed.
type Conn struct {
	local   net.Addr
	srcAddr net.Addr // set for a pair end: the address the peer sees; nil: WriteTo's addr is the destination
	out     *Link    // what this conn sends
	in      *Link    // what this conn receives (owned by the peer for a pair end)
	inbox   chan *packet
	rd      *deadline
	closed  chan struct{}
	failed  chan struct{} // closed with readErr set when a wrapped socket fails; nil for a pair end
	readErr error
	onClose func() error   // releases what the adapter holds, once
	sock    net.PacketConn // the wrapped socket; nil for a pair end

	closeOnce sync.Once
}

func newConn(local net.Addr, recvQueue int) *Conn {
	return &Conn{
		local:  local,
		inbox:  make(chan *packet, recvQueue),
		rd:     newDeadline(),
		closed: make(chan struct{}),
	}
}

// ReadFrom reads the next delivered datagram into b (truncating it if b is
// short, like UDP) and returns the address it came from.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	if isClosedChan(c.closed) {
		return 0, nil, c.opError("read", net.ErrClosed)
	}
	if isClosedChan(c.rd.wait()) {
		return 0, nil, c.opError("read", os.ErrDeadlineExceeded)
	}
	select {
	case p := <-c.inbox:
		n := copy(b, p.b)
		from := p.addr
		freePacket(p)
		return n, from, nil
	case <-c.closed:
		return 0, nil, c.opError("read", net.ErrClosed)
	case <-c.rd.wait():
		return 0, nil, c.opError("read", os.ErrDeadlineExceeded)
	case <-c.failed:
		select {
		case p := <-c.inbox:
			n := copy(b, p.b)
			from := p.addr
			freePacket(p)
			return n, from, nil
		default:
			return 0, nil, c.opError("read", c.readErr)
		}
	}
}

// WriteTo sends a copy of b through the outgoing link and returns at once.
// A pair end delivers everything to its peer whatever addr says; a wrapped
// socket sends to addr. Lost or dropped packets are not errors, as with UDP.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if isClosedChan(c.closed) {
		return 0, c.opError("write", net.ErrClosed)
	}
	if c.srcAddr != nil {
		c.out.send(b, c.srcAddr, nil)
		return len(b), nil
	}
	if addr == nil {
		return 0, c.opError("write", errors.New("missing address"))
	}
	c.out.send(b, addr, nil)
	return len(b), nil
}

// enqueue hands a delivered packet to the reader; false if it was dropped
// because the receive queue is full or the conn closed.
func (c *Conn) enqueue(p *packet) bool {
	if isClosedChan(c.closed) {
		freePacket(p)
		return false
	}
	select {
	case c.inbox <- p:
		return true
	default:
		freePacket(p)
		return false
	}
}

// Close stops the conn's outgoing link (packets in flight are discarded),
// unblocks readers, and for a wrapped socket closes the socket. A second
// Close returns an error matching net.ErrClosed.
func (c *Conn) Close() error {
	err := c.opError("close", net.ErrClosed)
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.onClose()
		c.drainInbox()
	})
	return err
}

func (c *Conn) drainInbox() {
	for {
		select {
		case p := <-c.inbox:
			freePacket(p)
		default:
			return
		}
	}
}

// LocalAddr returns the conn's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// SetDeadline sets the read deadline (writes never block).
func (c *Conn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline makes ReadFrom fail with os.ErrDeadlineExceeded once t
// has passed; the zero time clears it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if isClosedChan(c.closed) {
		return c.opError("set", net.ErrClosed)
	}
	c.rd.set(t)
	return nil
}

// SetWriteDeadline is accepted and ignored: writes never block.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// SetReadBuffer and SetWriteBuffer let callers that tune socket buffers
// (kcp-go, kcptun) work unchanged: a wrapped socket passes them on, a pair
// end accepts and ignores them (its queue length is WithRecvQueue).
func (c *Conn) SetReadBuffer(bytes int) error {
	if s, ok := c.sock.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(bytes)
	}
	return nil
}

// SetWriteBuffer: see SetReadBuffer.
func (c *Conn) SetWriteBuffer(bytes int) error {
	if s, ok := c.sock.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(bytes)
	}
	return nil
}

// Stats returns both directions as this conn sees them: Up is what it
// sent, Down what was sent to it.
func (c *Conn) Stats() Stats {
	return Stats{Up: c.out.Stats(), Down: c.in.Stats()}
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "udp", Addr: c.local, Err: err}
}
