package transport

import (
	"net"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// readBatchSize is how many packets one recvmmsg may return.
const readBatchSize = 64

// batchReader hands out one at a time the packets it reads from a UDP
// socket many per system call (recvmmsg on Linux), as kcp-go does on a
// bare socket: kcp-go reads a SealConn a packet per call.
type batchReader struct {
	conn interface {
		ReadBatch(ms []ipv4.Message, flags int) (int, error)
	}

	mu      sync.Mutex
	msgs    []ipv4.Message
	n, next int // msgs[next:n] are read and not yet handed out
}

// newBatchReader returns a batchReader on pc, or nil when pc is not a UDP
// socket (fake TCP, a test link): those are read a packet per call.
func newBatchReader(pc net.PacketConn) *batchReader {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	r := &batchReader{msgs: make([]ipv4.Message, readBatchSize)}
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		r.conn = ipv4.NewPacketConn(uc)
	} else {
		r.conn = ipv6.NewPacketConn(uc)
	}
	for i := range r.msgs {
		r.msgs[i].Buffers = [][]byte{make([]byte, sealBufSize)}
	}
	return r
}

// ReadFrom copies the next packet into p (truncating it to len(p)) and
// returns its length and sender; it reads a new batch when none is left.
func (r *batchReader) ReadFrom(p []byte) (int, net.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next == r.n {
		n, err := r.conn.ReadBatch(r.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		r.n, r.next = n, 0
	}
	m := &r.msgs[r.next]
	r.next++
	return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
}
