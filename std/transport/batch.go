package transport

import (
	"errors"
	"io"
	"net"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// readBatchSize is how many packets one recvmmsg may return.
const readBatchSize = 64

// batchConn is a UDP socket's batched calls (x/net's ipv4 and ipv6
// PacketConn; ipv6.Message is ipv4.Message).
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchCalls returns pc's batched calls, or nil when pc is not a UDP
// socket (fake TCP, a test link): those are read and written a packet
// per call.
func batchCalls(pc net.PacketConn) batchConn {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		return ipv4.NewPacketConn(uc)
	}
	return ipv6.NewPacketConn(uc)
}

// batchReader hands out one at a time the packets it reads from a UDP
// socket many per system call (recvmmsg on Linux), as kcp-go does on a
// bare socket: kcp-go reads a SealConn a packet per call.
type batchReader struct {
	conn batchConn

	mu      sync.Mutex
	msgs    []ipv4.Message
	n, next int // msgs[next:n] are read and not yet handed out
}

// newBatchReader returns a batchReader on pc, or nil when pc is not a UDP
// socket (fake TCP, a test link): those are read a packet per call.
func newBatchReader(pc net.PacketConn) *batchReader {
	conn := batchCalls(pc)
	if conn == nil {
		return nil
	}
	r := &batchReader{conn: conn, msgs: make([]ipv4.Message, readBatchSize)}
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

// writeBatchSize is how many packets one sendmmsg may carry, and
// writeQueueMax how many sealed packets may wait for the socket before a
// writer waits for room.
const (
	writeBatchSize = 64
	writeQueueMax  = writeBatchSize
)

// batchWriter sends the packets handed to it many per system call
// (sendmmsg on Linux), as kcp-go does on a bare socket: kcp-go writes a
// SealConn a packet per call, a flush's worth at a time. The first packet
// queued starts a goroutine that sends what is queued, batch after batch,
// while the packets behind it are sealed, and ends when the queue is
// empty; so nothing runs while nothing is sent, and nothing needs
// stopping.
type batchWriter struct {
	conn batchConn
	free func(*[]byte) // takes back a packet's buffer once sent

	mu      sync.Mutex
	room    sync.Cond // signalled when the sender takes the queue, and when it ends
	queue   []queued
	sending bool             // a sender goroutine is running
	errs    map[string]error // a failed send, told to the next write to its address
	msgs    []ipv4.Message   // the sender's, reused
	batch   []queued         // the sender's, reused
}

type queued struct {
	buf  *[]byte
	n    int
	addr net.Addr
}

// newBatchWriter returns a batchWriter on pc, or nil when pc is not a UDP
// socket (fake TCP, a test link): those are written a packet per call.
// free takes back each buffer handed to send, once it is sent.
func newBatchWriter(pc net.PacketConn, free func(*[]byte)) *batchWriter {
	conn := batchCalls(pc)
	if conn == nil {
		return nil
	}
	return writerOn(conn, free)
}

func writerOn(conn batchConn, free func(*[]byte)) *batchWriter {
	w := &batchWriter{conn: conn, free: free, msgs: make([]ipv4.Message, writeBatchSize)}
	w.room.L = &w.mu
	for i := range w.msgs {
		w.msgs[i].Buffers = make([][]byte, 1)
	}
	return w
}

// send queues (*buf)[:n] for addr and takes buf. If an earlier packet to
// addr failed, it returns that error instead and drops this packet too,
// as kcp-go stops writing a batch at the first write that fails.
func (w *batchWriter) send(buf *[]byte, n int, addr net.Addr) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		if err, ok := w.errs[addr.String()]; ok {
			delete(w.errs, addr.String())
			w.free(buf)
			return err
		}
	}
	for len(w.queue) >= writeQueueMax {
		w.room.Wait()
	}
	w.queue = append(w.queue, queued{buf, n, addr})
	if !w.sending {
		w.sending = true
		go w.run()
	}
	return nil
}

// run sends the queue until it is empty.
func (w *batchWriter) run() {
	w.mu.Lock()
	for len(w.queue) > 0 {
		w.batch, w.queue = w.queue, w.batch[:0]
		w.room.Broadcast()
		w.mu.Unlock()
		failed := w.write(w.batch)
		clear(w.batch)
		w.mu.Lock()
		for _, f := range failed {
			if w.errs == nil {
				w.errs = make(map[string]error)
			}
			w.errs[f.addr] = f.err
		}
	}
	w.sending = false
	w.room.Broadcast()
	w.mu.Unlock()
}

// drain returns once every packet queued before it has been sent (or
// has failed).
func (w *batchWriter) drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.sending {
		w.room.Wait()
	}
}

type sendFailure struct {
	addr string
	err  error
}

// write sends batch, writeBatchSize packets per call; a packet the socket
// refuses is skipped and reported.
func (w *batchWriter) write(batch []queued) (failed []sendFailure) {
	for len(batch) > 0 {
		k := min(len(batch), len(w.msgs))
		for i, q := range batch[:k] {
			w.msgs[i].Buffers[0] = (*q.buf)[:q.n]
			w.msgs[i].Addr = q.addr
		}
		n, err := w.conn.WriteBatch(w.msgs[:k], 0)
		n = min(max(n, 0), k)
		if err == nil && n == 0 {
			err = io.ErrNoProgress
		}
		switch {
		case err == nil:
		case errors.Is(err, net.ErrClosed): // nothing more goes out
			failed = append(failed, sendFailure{batch[0].addr.String(), err})
			n = len(batch)
		case n < k:
			failed = append(failed, sendFailure{batch[n].addr.String(), err})
			n++ // skip the packet that failed
		}
		for i := range n {
			w.free(batch[i].buf)
		}
		for i := range k {
			w.msgs[i].Buffers[0], w.msgs[i].Addr = nil, nil
		}
		batch = batch[n:]
	}
	return failed
}
