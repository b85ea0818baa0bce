package netem

import (
	"errors"
	"net"
	"syscall"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// Wrap returns a Conn that sends and receives through sock, with what it
// writes impaired by up and what it reads impaired by down. Wrapping one
// side's real UDP socket emulates the whole path between two processes.
// The Conn owns sock: Close closes it. A goroutine reads sock and feeds
// the down link; if sock fails, ReadFrom returns that error once the
// datagrams already delivered are read. Options: WithSeed, WithRecvQueue.
func Wrap(sock net.PacketConn, up, down Spec, opts ...Option) (*Conn, error) {
	if err := errors.Join(up.Validate(), down.Validate()); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	c := newConn(sock.LocalAddr(), o.recvQueue)
	c.sock = sock
	c.failed = make(chan struct{})
	c.out = newLink(up, o, streamAB, func(p *packet) bool {
		_, err := sock.WriteTo(p.b, p.addr)
		freePacket(p)
		return err == nil
	})
	c.in = newLink(down, o, streamBA, c.enqueue)
	pumped := make(chan struct{})
	go c.pump(pumped)
	c.onClose = func() error {
		c.out.Close()
		err := sock.Close()
		<-pumped
		c.in.Close()
		return err
	}
	return c, nil
}

// pump feeds what sock receives into the down link until sock fails.
func (c *Conn) pump(done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := c.sock.ReadFrom(buf)
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue // a connected socket's peer is not there yet
		}
		if err != nil {
			if !isClosedChan(c.closed) {
				c.readErr = err
				close(c.failed)
			}
			return
		}
		c.in.send(buf[:n], from, nil)
	}
}
