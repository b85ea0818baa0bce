package stream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/xtaci/smux"
)

type pipeResult struct {
	aToB, bToA int64
	err        error
}

// startPipe runs Pipe(a, b) and returns its result channel.
func startPipe(a, b net.Conn) <-chan pipeResult {
	done := make(chan pipeResult, 1)
	go func() {
		aToB, bToA, err := Pipe(a, b)
		done <- pipeResult{aToB, bToA, err}
	}()
	return done
}

func waitPipe(t *testing.T, done <-chan pipeResult) pipeResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Pipe did not return")
		return pipeResult{}
	}
}

// serveRequestReply is a target that reads the whole request (until EOF),
// checks it, then sends reply and closes.
func serveRequestReply(t *testing.T, c net.Conn, want, reply []byte) <-chan error {
	errc := make(chan error, 1)
	go func() {
		defer c.Close()
		got, err := io.ReadAll(c)
		if err == nil && !bytes.Equal(got, want) {
			err = errors.New("target got a different request")
		}
		if err == nil {
			_, err = c.Write(reply)
		}
		errc <- err
	}()
	return errc
}

func TestPipeHalfClosedRequestGetsFullReplyOverTCP(t *testing.T) {
	client, a := tcpPair(t)
	b, target := tcpPair(t)
	req, reply := randomBytes(10, 100000), randomBytes(11, 300000)
	targetErr := serveRequestReply(t, target, req, reply)
	done := startPipe(a, b)

	if _, err := client.Write(req); err != nil {
		t.Fatal(err)
	}
	client.CloseWrite()
	got, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(got, reply) {
		t.Fatalf("client got %d reply bytes, %v; want %d", len(got), err, len(reply))
	}
	if err := <-targetErr; err != nil {
		t.Fatal(err)
	}
	r := waitPipe(t, done)
	if r.err != nil || r.aToB != int64(len(req)) || r.bToA != int64(len(reply)) {
		t.Fatalf("Pipe = %d, %d, %v; want %d, %d, nil", r.aToB, r.bToA, r.err, len(req), len(reply))
	}
}

// TestPipeHalfCloseCrossesSmuxAndQPP is the tunnel without KCP: client TCP
// -> Pipe -> QPP -> smux stream ... smux stream -> QPP -> Pipe -> target TCP.
func TestPipeHalfCloseCrossesSmuxAndQPP(t *testing.T) {
	cfg, err := SmuxConfig(2, 4194304, 2097152, 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	q := newTestQPP(t)
	muxA, muxB := tcpPair(t)
	clientSess, err := smux.Client(NewCompConn(muxA), cfg)
	if err != nil {
		t.Fatal(err)
	}
	serverSess, err := smux.Server(NewCompConn(muxB), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { clientSess.Close(); serverSess.Close() })

	client, local := tcpPair(t)
	remote, target := tcpPair(t)
	req, reply := randomBytes(12, 50000), randomBytes(13, 200000)
	targetErr := serveRequestReply(t, target, req, reply)

	stream, err := clientSess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	clientDone := startPipe(local, q.Wrap(stream))
	accepted, err := serverSess.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	serverDone := startPipe(q.Wrap(accepted), remote)

	if _, err := client.Write(req); err != nil {
		t.Fatal(err)
	}
	client.CloseWrite()
	got, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(got, reply) {
		t.Fatalf("client got %d reply bytes, %v; want %d", len(got), err, len(reply))
	}
	if err := <-targetErr; err != nil {
		t.Fatal(err)
	}
	for _, r := range []pipeResult{waitPipe(t, clientDone), waitPipe(t, serverDone)} {
		if r.err != nil || r.aToB+r.bToA != int64(len(req)+len(reply)) {
			t.Errorf("Pipe = %d, %d, %v", r.aToB, r.bToA, r.err)
		}
	}
}

func TestPipeClosesConnWithoutCloseWriteOnEOF(t *testing.T) {
	pa, a := net.Pipe()
	b, pb := net.Pipe()
	t.Cleanup(func() { pa.Close(); pb.Close() })
	done := startPipe(a, b)
	go func() {
		pa.Write([]byte("hello"))
		pa.Close()
	}()
	got, err := io.ReadAll(pb) // b is closed outright: EOF
	if err != nil || string(got) != "hello" {
		t.Fatalf("peer of b read %q, %v", got, err)
	}
	r := waitPipe(t, done)
	if r.err != nil || r.aToB != 5 || r.bToA != 0 {
		t.Fatalf("Pipe = %d, %d, %v; want 5, 0, nil", r.aToB, r.bToA, r.err)
	}
}

var errInjected = errors.New("injected failure")

// failingConn fails its Read (or Write) after passing the first one through.
type failingConn struct {
	net.Conn
	failRead, failWrite bool
	calls               int
}

func (c *failingConn) Read(p []byte) (int, error) {
	if c.calls++; c.failRead && c.calls > 1 {
		return 0, errInjected
	}
	return c.Conn.Read(p)
}

func (c *failingConn) Write(p []byte) (int, error) {
	if c.failWrite {
		return 0, errInjected
	}
	return c.Conn.Write(p)
}

func TestPipeErrorClosesBothConns(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn failingConn
	}{{"read error", failingConn{failRead: true}}, {"write error", failingConn{failWrite: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			pa, a := tcpPair(t)
			b, pb := tcpPair(t)
			fa := tc.conn
			fa.Conn = a
			done := startPipe(&fa, b)
			pa.Write([]byte("first"))
			pb.Write([]byte("reply")) // for the write-error case
			// Both peers see their conn closed although neither closed
			// its own side: the failure ended both directions.
			for _, peer := range []net.Conn{pa, pb} {
				peer.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := io.ReadAll(peer) // EOF or reset
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("a peer's conn was left open after the error")
				}
			}
			r := waitPipe(t, done)
			if !errors.Is(r.err, errInjected) {
				t.Fatalf("Pipe error = %v, want the injected one", r.err)
			}
		})
	}
}

// readEvent is one Read call on a sizeConn: the buffer it was given on
// entry (n < 0), or what it returned.
type readEvent struct{ size, n int }

// sizeConn reports the size of the buffer of every Read and what each
// returned.
type sizeConn struct {
	net.Conn
	events chan readEvent
}

func (c *sizeConn) Read(p []byte) (int, error) {
	c.events <- readEvent{size: len(p), n: -1}
	n, err := c.Conn.Read(p)
	c.events <- readEvent{size: len(p), n: n}
	return n, err
}

// nextRead returns the buffer size of the next Read call that starts.
func nextRead(t *testing.T, events <-chan readEvent) int {
	t.Helper()
	for {
		select {
		case e := <-events:
			if e.n < 0 {
				return e.size
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no Read started")
		}
	}
}

// readUntil consumes Read events until reads have returned total bytes
// in all, and reports the largest buffer any of them was given.
func readUntil(t *testing.T, events <-chan readEvent, total int) (largest int) {
	t.Helper()
	for got := 0; got < total; {
		select {
		case e := <-events:
			largest = max(largest, e.size)
			if e.n > 0 {
				got += e.n
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("reads returned %d of %d bytes", got, total)
		}
	}
	return largest
}

func mustReadFull(t *testing.T, c net.Conn, b []byte) string {
	t.Helper()
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An idle connection waits with a small buffer: a Pipe direction reads
// 32 KiB at a time only while reads fill what they are given, and goes
// back to the small buffer once the source runs dry, so a router holding
// hundreds of idle connections does not hold 64 KiB for each.
func TestPipeWaitsOnIdleConnWithSmallBuffer(t *testing.T) {
	client, a := tcpPair(t)
	b, target := tcpPair(t)
	src := &sizeConn{Conn: a, events: make(chan readEvent, 1024)}
	done := startPipe(src, b)

	if got := nextRead(t, src.events); got != pipeSmallBuf {
		t.Fatalf("first read into %d bytes, want the small buffer (%d)", got, pipeSmallBuf)
	}
	client.Write([]byte("ls -l\n")) // a keystroke's worth
	readUntil(t, src.events, 6)
	if got := make([]byte, 6); mustReadFull(t, target, got) != "ls -l\n" {
		t.Fatalf("target got %q", got)
	}
	if got := nextRead(t, src.events); got != pipeSmallBuf {
		t.Fatalf("after a 6-byte read, waiting with %d bytes, want %d", got, pipeSmallBuf)
	}

	bulk := randomBytes(14, 1<<20+1000) // ends with a read that does not fill 32 KiB
	go client.Write(bulk)
	recv := make(chan []byte, 1)
	go func() {
		got := make([]byte, len(bulk))
		io.ReadFull(target, got)
		recv <- got
	}()
	largest := readUntil(t, src.events, len(bulk))
	if got := <-recv; !bytes.Equal(got, bulk) {
		t.Fatal("the bulk transfer arrived altered")
	}
	if largest != pipeBufSize {
		t.Errorf("the bulk transfer read into at most %d bytes, want %d", largest, pipeBufSize)
	}
	if got := nextRead(t, src.events); got != pipeSmallBuf {
		t.Errorf("idle after the bulk transfer, waiting with %d bytes, want %d", got, pipeSmallBuf)
	}

	client.Close()
	target.Close()
	go func() {
		for range src.events { // let the last reads return
		}
	}()
	waitPipe(t, done)
}
