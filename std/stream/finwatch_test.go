package stream

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// smuxFrame is a frame as smux writes it.
func smuxFrame(cmd byte, sid uint32, payload []byte) []byte {
	f := []byte{1, cmd, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(f[2:], uint16(len(payload)))
	binary.LittleEndian.PutUint32(f[4:], sid)
	return append(f, payload...)
}

const (
	cmdSYN = 0
	cmdPSH = 2
)

// chunkConn is a conn whose Reads return the stream given, n bytes at a
// time.
type chunkConn struct {
	net.Conn
	r io.Reader
	n int
}

func (c *chunkConn) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// aborted returns a func that records the abort of sid in got, and a way
// to wait for it.
func watchAbort(w *FinWatch, sid uint32) (stop func(), wait func(time.Duration) bool) {
	ch := make(chan struct{})
	stop = w.Watch(sid, func() { close(ch) })
	return stop, func(d time.Duration) bool {
		select {
		case <-ch:
			return true
		case <-time.After(d):
			return false
		}
	}
}

func TestFinWatchSeesASecondFINWhereverTheReadsSplitTheFrames(t *testing.T) {
	var wire bytes.Buffer
	wire.Write(smuxFrame(cmdSYN, 3, nil))
	// A payload that looks like a FIN header must not count.
	wire.Write(smuxFrame(cmdPSH, 3, smuxFrame(smuxCmdFIN, 5, nil)))
	wire.Write(smuxFrame(cmdSYN, 5, nil))
	wire.Write(smuxFrame(smuxCmdFIN, 3, nil)) // stream 3 half-closed
	wire.Write(smuxFrame(cmdPSH, 5, make([]byte, 300)))
	wire.Write(smuxFrame(smuxCmdFIN, 5, nil))
	wire.Write(smuxFrame(smuxCmdFIN, 5, nil)) // stream 5 aborted
	stream := wire.Bytes()
	for n := 1; n <= len(stream); n++ {
		conn, w := WatchFINs(&chunkConn{r: bytes.NewReader(stream), n: n})
		stop3, aborted3 := watchAbort(w, 3)
		stop5, aborted5 := watchAbort(w, 5)
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Fatal(err)
		}
		if !aborted5(5 * time.Second) {
			t.Fatalf("reads of %d bytes: the second FIN of stream 5 was missed", n)
		}
		if aborted3(0) {
			t.Fatalf("reads of %d bytes: stream 3 was only half-closed (one FIN, one look-alike in data)", n)
		}
		stop3()
		stop5()
	}
}

func TestFinWatchAbortsAStreamWatchedAfterItsSecondFIN(t *testing.T) {
	var wire bytes.Buffer
	wire.Write(smuxFrame(smuxCmdFIN, 7, nil))
	wire.Write(smuxFrame(smuxCmdFIN, 7, nil))
	conn, w := WatchFINs(&chunkConn{r: &wire, n: 64})
	io.Copy(io.Discard, conn)
	stop, aborted := watchAbort(w, 7)
	defer stop()
	if !aborted(5 * time.Second) {
		t.Fatal("a stream aborted before its Pipe watched it was not aborted")
	}
}

func TestFinWatchForgetsStreamsNobodyWatches(t *testing.T) {
	var wire bytes.Buffer
	for sid := uint32(1); sid <= 3*finWatchMax; sid += 2 {
		wire.Write(smuxFrame(smuxCmdFIN, sid, nil))
	}
	conn, w := WatchFINs(&chunkConn{r: &wire, n: 4096})
	stop := w.Watch(1, func() {})
	defer stop()
	io.Copy(io.Discard, conn)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.fins) > finWatchMax+1 {
		t.Errorf("%d FIN counts kept, want at most %d", len(w.fins), finWatchMax+1)
	}
	if w.fins[1] != 1 {
		t.Errorf("the watched stream's count was dropped")
	}
}

// With more streams watched than finWatchMax, a FIN does not walk the
// whole map each time: the next pass waits until it has doubled.
func TestFinWatchDoesNotWalkItsMapAtEveryFIN(t *testing.T) {
	_, w := WatchFINs(&chunkConn{})
	for sid := uint32(1); sid <= 2*finWatchMax; sid++ {
		w.Watch(sid, func() {})
		w.fin(sid)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.limit < len(w.fins) {
		t.Errorf("with %d streams watched a pass is due at %d FIN counts: every FIN walks the map", len(w.fins), w.limit)
	}
}

type buffersConn struct {
	net.Conn
	wrote [][]byte
}

func (b *buffersConn) WriteBuffers(v [][]byte) (int, error) {
	b.wrote = append(b.wrote, v...)
	return 0, nil
}

func TestWatchFINsKeepsVectoredWrites(t *testing.T) {
	bc := &buffersConn{}
	conn, _ := WatchFINs(bc)
	bw, ok := conn.(buffersWriter)
	if !ok {
		t.Fatal("WriteBuffers lost: smux would write header and payload apart")
	}
	bw.WriteBuffers([][]byte{{1}, {2}})
	if len(bc.wrote) != 2 {
		t.Fatalf("WriteBuffers did not reach the conn: %v", bc.wrote)
	}
	if _, ok := any(&FinWatch{}).(buffersWriter); ok {
		t.Fatal("a FinWatch on a conn without WriteBuffers must not offer it")
	}
}

// PipeUntil's stop ends the copy towards an aborted stream and lets the
// other direction finish with all its data; the application, which still
// sends, is then reset.
func TestPipeUntilStopEndsOneDirectionOnly(t *testing.T) {
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer appLn.Close()
	user, err := net.Dial("tcp", appLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	app, err := appLn.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tunnel, peer := net.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, _, err := PipeUntil(app, tunnel, stop, 0)
		done <- err
	}()
	user.Write([]byte("request")) // the peer takes it, then aborts
	buf := make([]byte, 7)
	if _, err := io.ReadFull(peer, buf); err != nil {
		t.Fatal(err)
	}
	reply := bytes.Repeat([]byte("r"), 10_000)
	go func() {
		peer.Write(reply)
		close(stop) // the peer aborts: it reads no more
		peer.Close()
	}()
	got, err := io.ReadAll(user)
	if err != nil {
		t.Fatalf("the user's read: %v", err)
	}
	if !bytes.Equal(got, reply) {
		t.Fatalf("the user got %d bytes of the %d sent before the abort", len(got), len(reply))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("PipeUntil: %v, want nil (a stop is no error of its own)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PipeUntil still copies after the stop")
	}
	user.SetWriteDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := user.Write(make([]byte, 32<<10)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the user can still send after the stream it fed was aborted")
			}
			break
		}
	}
}

// FuzzFinWatchScan: any bytes, however the reads split them, give the
// same FIN counts as one read of them all, and never a panic.
func FuzzFinWatchScan(f *testing.F) {
	f.Add(append(smuxFrame(smuxCmdFIN, 3, nil), smuxFrame(cmdPSH, 3, []byte("data"))...), uint8(3))
	f.Add(smuxFrame(cmdPSH, 1, smuxFrame(smuxCmdFIN, 1, nil)), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole := &FinWatch{fins: make(map[uint32]uint8), aborts: make(map[uint32]func()), limit: finWatchMax}
		whole.scan(data)
		split := &FinWatch{fins: make(map[uint32]uint8), aborts: make(map[uint32]func()), limit: finWatchMax}
		n := int(step)%16 + 1
		for b := data; len(b) > 0; {
			k := min(n, len(b))
			split.scan(b[:k])
			b = b[k:]
		}
		if len(whole.fins) != len(split.fins) || whole.have != split.have || whole.skip != split.skip {
			t.Fatalf("reads of %d bytes: %v (at %d/%d), one read: %v (at %d/%d)", n, split.fins, split.have, split.skip, whole.fins, whole.have, whole.skip)
		}
		for sid, c := range whole.fins {
			if split.fins[sid] != c {
				t.Fatalf("stream %d: %d FINs in reads of %d bytes, %d in one", sid, split.fins[sid], n, c)
			}
		}
	})
}
