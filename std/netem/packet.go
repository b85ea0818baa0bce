package netem

import (
	"net"
	"sync"
)

// pooledSize is the capacity of pooled packet buffers: larger than any
// datagram a tunnel sends on a 1500-byte MTU path. Bigger datagrams get a
// buffer of their own.
const pooledSize = 2048

// packet is one datagram in flight, owned by exactly one holder at a time
// (a link's heap, a Conn's receive queue) until freePacket.
type packet struct {
	at   int64    // scheduled delivery, ns since the link's epoch
	seq  uint64   // send order, breaks ties in the heap
	b    []byte   // payload (a slice of buf)
	buf  []byte   // backing storage
	addr net.Addr // destination (to a socket) or source (to a Conn's reader)
	tag  any      // adapter-specific routing (the relay's session)
}

var packetPool = sync.Pool{New: func() any { return &packet{buf: make([]byte, pooledSize)} }}

// newPacket copies b into a packet from the pool.
func newPacket(b []byte, addr net.Addr, tag any) *packet {
	p := packetPool.Get().(*packet)
	if len(b) > cap(p.buf) {
		p.buf = make([]byte, len(b))
	}
	p.b = p.buf[:len(b)]
	copy(p.b, b)
	p.addr, p.tag = addr, tag
	return p
}

// clone copies p's payload and routing into a new packet.
func (p *packet) clone() *packet {
	c := newPacket(p.b, p.addr, p.tag)
	c.at = p.at
	return c
}

func freePacket(p *packet) {
	p.b, p.addr, p.tag = nil, nil, nil
	if cap(p.buf) != pooledSize {
		return // an oversized buffer: let the GC have it
	}
	packetPool.Put(p)
}

// packetHeap is a min-heap of packets by (at, seq).
type packetHeap []*packet

func (h packetHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *packetHeap) push(p *packet) {
	*h = append(*h, p)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *packetHeap) pop() *packet {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	s = s[:last]
	*h = s
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(s) && s.less(l, small) {
			small = l
		}
		if r < len(s) && s.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	return top
}
