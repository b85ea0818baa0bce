package netem

import "errors"

// Stream numbers keep the random decisions of each direction independent
// under one seed.
const (
	streamAB = 1 + iota
	streamBA
)

// NewPair returns two connected in-process PacketConns: what a writes goes
// through a link with spec ab and is read by b, and the other way with ba.
// Each end reports its own address (WithAddrs; *net.UDPAddr by default) as
// the source of what it sends, so kcp-go's NewConn(b.LocalAddr().String(),
// …, a) and ServeConn(…, b) talk through the link. Closing one end stops
// its outgoing link and its reads; the other end keeps working (its
// packets to the closed end are dropped). Options: WithSeed, WithRecvQueue,
// WithAddrs.
func NewPair(ab, ba Spec, opts ...Option) (a, b *Conn, err error) {
	if err := errors.Join(ab.Validate(), ba.Validate()); err != nil {
		return nil, nil, err
	}
	o := buildOptions(opts)
	a = newConn(o.addrA, o.recvQueue)
	b = newConn(o.addrB, o.recvQueue)
	a.srcAddr, b.srcAddr = o.addrA, o.addrB
	a.out = newLink(ab, o, streamAB, b.enqueue)
	b.out = newLink(ba, o, streamBA, a.enqueue)
	a.in, b.in = b.out, a.out
	a.onClose, b.onClose = a.out.Close, b.out.Close
	return a, b, nil
}
