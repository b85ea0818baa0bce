package netem

import (
	"crypto/rand"
	"encoding/binary"
	"net"
)

// Option adjusts a Link, a Pair, a wrapped Conn or a Relay.
type Option func(*options)

type options struct {
	seed      uint64
	seeded    bool
	recvQueue int
	addrA     net.Addr
	addrB     net.Addr
	// timersOnly makes links wait with Go timers alone, for tests under
	// testing/synctest, whose fake clock nanosleep would not advance.
	timersOnly bool
}

// DefaultRecvQueue is how many delivered datagrams a Conn holds for its
// reader before it drops new ones, like a socket receive buffer.
const DefaultRecvQueue = 4096

// WithSeed makes every random decision (loss, jitter, reordering,
// duplication) reproducible: the same seed and the same sequence of sends
// give the same fates. Each direction draws from its own stream. Without
// it the seed is random.
func WithSeed(seed uint64) Option {
	return func(o *options) { o.seed, o.seeded = seed, true }
}

// WithRecvQueue sets how many datagrams a Conn buffers for its reader before
// dropping (counted in DirStats.RecvDrops). The default is DefaultRecvQueue.
func WithRecvQueue(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.recvQueue = n
		}
	}
}

// WithAddrs sets the addresses of NewPair's two ends (LocalAddr of each, and
// the source address the other end's ReadFrom reports). The defaults are
// 192.0.2.1:1001 for a and 192.0.2.2:1002 for b (TEST-NET-1, never routed).
func WithAddrs(a, b net.Addr) Option {
	return func(o *options) { o.addrA, o.addrB = a, b }
}

func buildOptions(opts []Option) options {
	o := options{recvQueue: DefaultRecvQueue}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.seeded {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		o.seed = binary.LittleEndian.Uint64(b[:])
	}
	if o.addrA == nil {
		o.addrA = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1001}
	}
	if o.addrB == nil {
		o.addrB = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 1002}
	}
	return o
}
