package transport

import (
	"container/heap"
	"errors"
	"io"
	"net"
	"sync"
	"time"

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

// batchReceiver is a UDP socket's batched read (recvmmsg on Linux).
type batchReceiver interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
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
	conn batchReceiver

	mu      sync.Mutex
	msgs    []ipv4.Message
	n, next int // msgs[next:n] are read and not yet handed out
}

// newBatchReader returns a batchReader on pc, or nil when pc is not a UDP
// socket (fake TCP, a test link): those are read a packet per call.
func newBatchReader(pc net.PacketConn) *batchReader {
	conn := rawReader(pc)
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
// writer waits for room. heldMax is how many packets the pacer may hold
// for one peer before a writer to it waits (kcp-go's own queue of a
// session's packets held 2048).
const (
	writeBatchSize = 64
	writeQueueMax  = writeBatchSize
	heldMax        = 2048
)

// batchWriter sends the packets handed to it many per system call
// (sendmmsg on Linux), as kcp-go does on a bare socket: kcp-go writes a
// SealConn a packet per call, a flush's worth at a time. The first packet
// queued starts a goroutine that sends what is queued, batch after batch,
// while the packets behind it are sealed, and ends when nothing is queued
// or held; so nothing runs while nothing is sent, and nothing needs
// stopping.
//
// It also holds each peer's paced packets until their time (sendAt), so
// that the pacer never makes kcp-go's goroutines wait (kcp-go may send
// every session's packets from a few shared ones); while only held
// packets are left, the goroutine sleeps until the first is due or a new
// packet comes.
type batchWriter struct {
	conn batchSender
	free func(*[]byte) // takes back a packet's buffer once sent
	// seal, when set, encrypts in place the packets of a batch before
	// they go (see SealConn.send); nil: they come sealed.
	seal func(packets [][]byte)
	now  func() time.Time // the pacer's clock

	mu       sync.Mutex
	room     sync.Cond // signalled when the sender takes packets, and when it ends
	queue    []queued
	waiting  []*Peer          // the peers with packets held (Peer.held)
	later    laterHeap        // packets held on their own, each sent if its check says so
	sending  bool             // a sender goroutine is running
	sleeping bool             // it waits for a held packet's time,
	until    time.Time        // this one
	flush    bool             // drain: every held packet is due
	wake     chan struct{}    // a packet came while it sleeps
	errs     map[string]error // a failed send, told to the next write to its address
	batch    []queued         // the sender's, reused

	// The sender's, reused: a system call's messages, the packets each
	// carries (a slice of bufs), and their segmenting control messages.
	msgs  []ipv4.Message
	segs  []int
	bufs  [][]byte
	oob   []byte
	plain [][]byte // the batch's packets, for seal
	// segment is set while runs of equal-size packets to one address go
	// as one message the kernel cuts into datagrams (UDP_SEGMENT); it is
	// cleared for good when the kernel refuses one.
	segment bool
}

type queued struct {
	buf  *[]byte
	n    int
	addr net.Addr
	at   time.Time // held until then (zero: not held for itself)
	// check, if set, says at its time whether the packet still goes (a
	// tail probe: in later, not in its peer's order).
	check func() bool
}

// batchSender is a socket's batched send (sendmmsg on a UDP socket; a
// packet per call on others, oneByOne).
type batchSender interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// oneByOne writes a batch a packet per call, on a socket with no
// batched calls (fake TCP, a test link).
type oneByOne struct{ pc net.PacketConn }

func (o oneByOne) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	for i, m := range ms {
		if _, err := o.pc.WriteTo(m.Buffers[0], m.Addr); err != nil {
			return i, err
		}
	}
	return len(ms), nil
}

// newBatchWriter returns a batchWriter on pc: many packets per system
// call on a UDP socket, one per call on others (fake TCP, a test link).
// free takes back each buffer handed to send, once it is sent; now is
// the pacer's clock.
func newBatchWriter(pc net.PacketConn, free func(*[]byte), now func() time.Time) *batchWriter {
	var w *batchWriter
	if conn := batchCalls(pc); conn != nil {
		w = writerOn(conn, free, canSegment(pc.(*net.UDPConn)))
	} else {
		w = writerOn(oneByOne{pc}, free, false)
	}
	w.now = now
	return w
}

// writerOn returns a batchWriter on conn; segment says whether conn's
// kernel cuts a message into datagrams (UDP_SEGMENT).
func writerOn(conn batchSender, free func(*[]byte), segment bool) *batchWriter {
	w := &batchWriter{conn: conn, free: free, segment: segment, now: time.Now, wake: make(chan struct{}, 1),
		msgs: make([]ipv4.Message, writeBatchSize), segs: make([]int, writeBatchSize),
		bufs: make([][]byte, writeBatchSize)}
	if segment {
		w.oob = make([]byte, writeBatchSize*segmentOOBSize)
	}
	w.room.L = &w.mu
	return w
}

// send queues (*buf)[:n] for addr and takes buf (sendAt, not held).
func (w *batchWriter) send(buf *[]byte, n int, addr net.Addr) error {
	return w.sendAt(buf, n, addr, nil, time.Time{}, nil)
}

// sendAt queues (*buf)[:n] for addr and takes buf. A packet to peer
// (nil: one not tracked) is held until hold when that is set, and
// behind the packets held for peer before it in any case, so that a
// peer's packets leave in the order written. With check set, it is held
// on its own until hold, then sent if check says so, else dropped (and
// dropped by drain). If an earlier packet to addr failed, sendAt
// returns that error instead and drops this packet too, as kcp-go stops
// writing a batch at the first write that fails.
func (w *batchWriter) sendAt(buf *[]byte, n int, addr net.Addr, peer *Peer, hold time.Time, check func() bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		if err, ok := w.errs[addr.String()]; ok {
			delete(w.errs, addr.String())
			w.free(buf)
			return err
		}
	}
	q := queued{buf, n, addr, hold, check}
	switch {
	case check != nil:
		heap.Push(&w.later, q)
		w.start(hold.Before(w.until))
	case peer != nil && (!hold.IsZero() || len(peer.held) > 0):
		for len(peer.held) >= heldMax {
			w.room.Wait()
		}
		first := len(peer.held) == 0
		if first {
			w.waiting = append(w.waiting, peer)
		}
		peer.held = append(peer.held, q)
		// Behind another held packet it is due no sooner than that one.
		w.start(first && hold.Before(w.until))
	default:
		for len(w.queue) >= writeQueueMax {
			w.room.Wait()
		}
		w.queue = append(w.queue, q)
		w.start(true)
	}
	return nil
}

// start makes sure the sender goroutine runs, and wakes it from its
// sleep when what was just queued is due sooner. w.mu is held.
func (w *batchWriter) start(sooner bool) {
	switch {
	case !w.sending:
		w.sending = true
		go w.run()
	case w.sleeping && sooner:
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// run sends what is queued and what is held as it falls due, until
// neither is left.
func (w *batchWriter) run() {
	var timer *time.Timer
	w.mu.Lock()
	for {
		w.batch, w.queue = w.queue, w.batch[:0]
		var next time.Time // the first held packet not due yet
		if len(w.waiting) > 0 || len(w.later) > 0 {
			next = w.release(w.now())
		}
		if len(w.batch) > 0 {
			w.room.Broadcast()
			w.mu.Unlock()
			w.sealBatch(w.batch)
			failed := w.write(w.batch)
			clear(w.batch)
			w.mu.Lock()
			for _, f := range failed {
				if w.errs == nil {
					w.errs = make(map[string]error)
				}
				w.errs[f.addr] = f.err
			}
			continue
		}
		if len(w.waiting) == 0 && len(w.later) == 0 {
			break
		}
		w.sleeping, w.until = true, next
		w.mu.Unlock()
		d := max(next.Sub(w.now()), 0)
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
		case <-w.wake:
		}
		w.mu.Lock()
		w.sleeping = false
	}
	if timer != nil {
		timer.Stop()
	}
	w.sending = false
	w.room.Broadcast()
	w.mu.Unlock()
}

// release moves to w.batch, after what is queued, the held packets due
// by now (each peer's in order, up to the first that is not; those held
// on their own if their check says so), and returns when the first one
// left is due (zero: none is left). w.mu is held.
func (w *batchWriter) release(now time.Time) (next time.Time) {
	due := now.Add(paceAhead)
	for len(w.later) > 0 && (w.flush || !w.later[0].at.After(due)) {
		q := heap.Pop(&w.later).(queued)
		if !w.flush && q.check() {
			w.batch = append(w.batch, q)
		} else {
			w.free(q.buf)
		}
	}
	if len(w.later) > 0 {
		next = w.later[0].at
	}
	for i := 0; i < len(w.waiting); {
		p := w.waiting[i]
		k := 0
		for k < len(p.held) && (w.flush || !p.held[k].at.After(due)) {
			k++
		}
		w.batch = append(w.batch, p.held[:k]...)
		left := copy(p.held, p.held[k:])
		clear(p.held[left:])
		p.held = p.held[:left]
		if left == 0 {
			last := len(w.waiting) - 1
			w.waiting[i], w.waiting[last] = w.waiting[last], nil
			w.waiting = w.waiting[:last]
			continue
		}
		if at := p.held[0].at; next.IsZero() || at.Before(next) {
			next = at
		}
		i++
	}
	return next
}

// laterHeap holds the packets held on their own (batchWriter.later), the
// one due first at the top: a server with many thin sessions has one for
// each of their packets in the last tens of milliseconds.
type laterHeap []queued

func (h laterHeap) Len() int           { return len(h) }
func (h laterHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h laterHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *laterHeap) Push(x any)        { *h = append(*h, x.(queued)) }
func (h *laterHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = queued{}
	*h = old[:len(old)-1]
	return q
}

// sealBatch encrypts the packets of batch where the writer does it.
func (w *batchWriter) sealBatch(batch []queued) {
	if w.seal == nil {
		return
	}
	for _, q := range batch {
		w.plain = append(w.plain, (*q.buf)[:q.n])
	}
	w.seal(w.plain)
	clear(w.plain)
	w.plain = w.plain[:0]
}

// drain sends at once the packets held for the pacer and returns once
// every packet queued or held before it has been sent (or has failed).
func (w *batchWriter) drain() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flush = true
	if w.sending {
		w.start(true) // wakes it if it sleeps
	}
	for w.sending {
		w.room.Wait()
	}
	w.flush = false
}

type sendFailure struct {
	addr string
	err  error
}

// The kernel's bounds on one segmented send: at most maxSegments
// datagrams (UDP_MAX_SEGMENTS was 64 before Linux 6.2) and maxSegmentedBytes
// in all (a UDP datagram's length field, with room for an IPv6 header).
const (
	maxSegments       = 64
	maxSegmentedBytes = 65535 - 8 - 40
)

// write sends batch, up to writeBatchSize packets per call; a packet the
// socket refuses is skipped and reported. While w.segment is set, a run
// of packets of one size to one address (the last may be shorter) goes
// as one message the kernel cuts into those datagrams: the same packets
// on the wire, one trip through the network stack for the run.
func (w *batchWriter) write(batch []queued) (failed []sendFailure) {
	for len(batch) > 0 {
		k := w.pack(batch)
		n, err := w.conn.WriteBatch(w.msgs[:k], 0)
		n = min(max(n, 0), k)
		if err == nil && n == 0 {
			err = io.ErrNoProgress
		}
		sent := w.packetsIn(n)
		switch {
		case err == nil:
		case errors.Is(err, net.ErrClosed): // nothing more goes out
			failed = append(failed, sendFailure{batch[0].addr.String(), err})
			sent = len(batch)
		case n < k && w.segs[n] > 1 && refusesSegments(err):
			w.segment = false // send the rest one datagram per message
		case n < k:
			failed = append(failed, sendFailure{batch[sent].addr.String(), err})
			sent += w.segs[n] // skip the packets that failed
		}
		for i := range sent {
			w.free(batch[i].buf)
		}
		clear(w.bufs)
		for i := range k {
			w.msgs[i].Buffers, w.msgs[i].OOB, w.msgs[i].Addr = nil, nil, nil
		}
		batch = batch[sent:]
	}
	return failed
}

// pack fills w.msgs with the first packets of batch, at most
// writeBatchSize of them, and returns how many messages it filled;
// w.segs[i] is the number of packets in message i.
func (w *batchWriter) pack(batch []queued) (msgs int) {
	batch = batch[:min(len(batch), len(w.bufs))]
	used := 0
	for used < len(batch) {
		run := 1
		if w.segment {
			run = sameSizeRun(batch[used:])
		}
		m := &w.msgs[msgs]
		for i, q := range batch[used : used+run] {
			w.bufs[used+i] = (*q.buf)[:q.n]
		}
		m.Buffers = w.bufs[used : used+run : used+run]
		m.Addr = batch[used].addr
		if run > 1 {
			m.OOB = segmentOOB(w.oob[msgs*segmentOOBSize:], batch[used].n)
		}
		w.segs[msgs] = run
		used += run
		msgs++
	}
	return msgs
}

// packetsIn returns the number of packets in the first n messages.
func (w *batchWriter) packetsIn(n int) int {
	p := 0
	for _, s := range w.segs[:n] {
		p += s
	}
	return p
}

// sameSizeRun returns how many packets at the head of batch the kernel
// can send as one segmented message: to one address, of the first one's
// size (the last may be shorter), within the kernel's bounds.
func sameSizeRun(batch []queued) int {
	size, total := batch[0].n, batch[0].n
	run := 1
	for run < len(batch) && run < maxSegments {
		q := batch[run]
		if batch[run-1].n != size || q.n > size || total+q.n > maxSegmentedBytes || !sameAddr(q.addr, batch[0].addr) {
			break
		}
		total += q.n
		run++
	}
	return run
}

// sameAddr reports whether a and b are one UDP address (kcp-go writes a
// session's packets to one *net.UDPAddr, so the first test nearly always
// answers).
func sameAddr(a, b net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	if !ok || !ok2 {
		return false
	}
	return ua == ub || ua.Port == ub.Port && ua.Zone == ub.Zone && ua.IP.Equal(ub.IP)
}
