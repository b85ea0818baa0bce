package stream

import (
	"encoding/binary"
	"net"
	"sync"
)

// smux's frame header (both versions): version, command, length of what
// follows (little endian), stream id.
const (
	smuxHeader = 8
	smuxCmdFIN = 1
	// finWatchMax is how many streams a FinWatch keeps FIN counts for
	// that no Pipe is watching, before it forgets them.
	finWatchMax = 4096
)

// FinWatch reads the smux frames a session receives and tells a stream's
// Pipe when the peer has aborted that stream.
//
// smux has no reset: a FIN says only that the peer sends no more, and we
// take it as a half-close (the peer may still read the reply). A peer
// that gives up on a stream it has half-closed, or that fails while
// copying it (its application went away, its target cannot be reached),
// closes it fully, and smux then sends a second FIN. Nothing the peer is
// sent after that is read: its smux drops data for a stream it has
// closed. Without this watch the far end would go on copying into the
// stream, a download the user cancelled running to its end over the
// link, an endless one (a live stream, a log tail) for ever. A kcptun
// peer closes both directions at the first FIN, so it needs no second.
//
// Read must be called from one goroutine (smux's receive loop does).
type FinWatch struct {
	net.Conn

	// The frame being read: header bytes seen, payload bytes to pass.
	hdr  [smuxHeader]byte
	have int
	skip int

	mu     sync.Mutex
	fins   map[uint32]uint8  // FINs seen per stream
	aborts map[uint32]func() // what to call when a watched stream is aborted
	limit  int               // len(fins) past which forgetUnwatched runs
}

// WatchFINs returns conn, as smux is to read it, with a FinWatch on it.
// The result keeps conn's vectored writes (WriteBuffers), which smux
// uses when it finds them.
func WatchFINs(conn net.Conn) (net.Conn, *FinWatch) {
	w := &FinWatch{Conn: conn, fins: make(map[uint32]uint8), aborts: make(map[uint32]func()), limit: finWatchMax}
	if bw, ok := conn.(buffersWriter); ok {
		return &finWatchBuffers{FinWatch: w, bw: bw}, w
	}
	return w, w
}

type buffersWriter interface {
	WriteBuffers(v [][]byte) (int, error)
}

type finWatchBuffers struct {
	*FinWatch
	bw buffersWriter
}

func (f *finWatchBuffers) WriteBuffers(v [][]byte) (int, error) { return f.bw.WriteBuffers(v) }

// Read reads from the conn and notes the FINs in what it read.
func (w *FinWatch) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.scan(p[:n])
	return n, err
}

// scan walks the frames in b, which continues what was read before.
func (w *FinWatch) scan(b []byte) {
	for len(b) > 0 {
		if w.skip > 0 {
			k := min(w.skip, len(b))
			w.skip -= k
			b = b[k:]
			continue
		}
		k := copy(w.hdr[w.have:], b)
		w.have += k
		b = b[k:]
		if w.have < smuxHeader {
			return
		}
		w.have = 0
		w.skip = int(binary.LittleEndian.Uint16(w.hdr[2:]))
		if w.hdr[1] == smuxCmdFIN {
			w.fin(binary.LittleEndian.Uint32(w.hdr[4:]))
		}
	}
}

// fin counts a FIN for stream sid and, at the second, calls the stream's
// abort (in a goroutine of its own: smux's receive loop must not wait on
// it).
func (w *FinWatch) fin(sid uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fins[sid]++
	if w.fins[sid] < 2 {
		w.forgetUnwatched()
		return
	}
	if abort := w.aborts[sid]; abort != nil {
		delete(w.aborts, sid)
		delete(w.fins, sid)
		go abort()
	}
}

// forgetUnwatched drops the counts of streams no Pipe watches once there
// are more than finWatchMax (streams refused or closed before a Pipe
// took them). With more streams than that watched at once, the next pass
// waits until the map has doubled, so that a FIN costs no walk of it.
// w.mu is held.
func (w *FinWatch) forgetUnwatched() {
	if len(w.fins) <= w.limit {
		return
	}
	for sid := range w.fins {
		if w.aborts[sid] == nil {
			delete(w.fins, sid)
		}
	}
	w.limit = max(finWatchMax, 2*len(w.fins))
}

// Watch calls abort when the peer aborts stream sid (at once if it has
// already), until the returned stop is called.
func (w *FinWatch) Watch(sid uint32, abort func()) (stop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fins[sid] >= 2 {
		delete(w.fins, sid)
		go abort()
		return func() {}
	}
	w.aborts[sid] = abort
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.aborts, sid)
		delete(w.fins, sid)
	}
}

// Abort closes conn so that a peer watching for it (FinWatch) sees the
// stream aborted, not half-closed: a half-close (CloseWrite) if conn has
// one, then Close. A TCP peer sees a FIN, then a reset if it sends more.
func Abort(conn net.Conn) {
	if cw, ok := conn.(closeWriter); ok {
		cw.CloseWrite()
	}
	conn.Close()
}
