package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// startTarget serves a Target on 127.0.0.1:0 until the test ends.
func startTarget(t *testing.T) *Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := NewTarget(ln)
	done := make(chan error, 1)
	go func() { done <- tg.Serve() }()
	t.Cleanup(func() {
		tg.Close()
		if err := <-done; err != nil {
			t.Errorf("target Serve: %v", err)
		}
	})
	return tg
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWorkloadsVerifyAgainstTarget(t *testing.T) {
	tg := startTarget(t)
	ctx := testContext(t)
	dial := TCPDialer(tg.Addr().String())

	tr, err := Download(ctx, dial, 3<<20+5, 42)
	if err != nil || tr.Bytes != 3<<20+5 || tr.Mbps() <= 0 {
		t.Errorf("Download = %+v, %v", tr, err)
	}
	up, err := Upload(ctx, dial, 1<<20, 9)
	if err != nil || up.Bytes != 1<<20 {
		t.Errorf("Upload = %+v, %v", up, err)
	}
	par, err := Parallel(ctx, dial, 8, 64<<10, 100, 0)
	if err != nil || par.Bytes != 8*64<<10 || par.Complete != 8 {
		t.Errorf("Parallel = %+v, %v", par, err)
	}
	rtts, err := Echo(ctx, dial, time.Millisecond, 5, nil)
	if err != nil || len(rtts) != 5 {
		t.Errorf("Echo = %d probes, %v; want 5", len(rtts), err)
	}
	if err := tg.SinkErrors(); err != nil {
		t.Errorf("target saw: %v", err)
	}
}

func TestEchoStopsWhenAsked(t *testing.T) {
	tg := startTarget(t)
	stop := make(chan struct{})
	type result struct {
		n   int
		err error
	}
	got := make(chan result, 1)
	go func() {
		rtts, err := Echo(testContext(t), TCPDialer(tg.Addr().String()), time.Millisecond, 0, stop)
		got <- result{len(rtts), err}
	}()
	// Let a few probes go out, then stop: every probe sent is answered.
	if _, err := Download(testContext(t), TCPDialer(tg.Addr().String()), 1<<20, 1); err != nil {
		t.Fatal(err)
	}
	close(stop)
	r := <-got
	if r.err != nil || r.n == 0 {
		t.Errorf("Echo until stop = %d probes, %v", r.n, r.err)
	}
}

// corruptingProxy forwards to target, flipping one bit of the byte at
// offset flipAt of what the target sends back.
func corruptingProxy(t *testing.T, target string, flipAt int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				buf := make([]byte, 32<<10)
				var off int64
				for {
					n, err := up.Read(buf)
					if flipAt >= off && flipAt < off+int64(n) {
						buf[flipAt-off] ^= 1
					}
					off += int64(n)
					if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestDownloadDetectsCorruption(t *testing.T) {
	tg := startTarget(t)
	proxy := corruptingProxy(t, tg.Addr().String(), 700_000)
	_, err := Download(testContext(t), TCPDialer(proxy), 1<<20, 3)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != 700_000 {
		t.Errorf("Download through a corrupting proxy = %v, want corruption at 700000", err)
	}
}

func TestDownloadDetectsShortTransfer(t *testing.T) {
	// A server that answers with fewer bytes than asked, then closes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.ReadFull(c, make([]byte, headerLen))
		sendPattern(c, Pattern{Seed: 5}, 1000)
	}()
	_, err = Download(testContext(t), TCPDialer(ln.Addr().String()), 5000, 5)
	if !errors.Is(err, ErrShort) {
		t.Errorf("Download of a cut-short stream = %v, want ErrShort", err)
	}
}

// stallingServer answers every request with n pattern bytes and then
// sends nothing more until the test ends.
func stallingServer(t *testing.T, n uint64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h := make([]byte, headerLen)
				io.ReadFull(c, h)
				sendPattern(c, Pattern{Seed: uint64(h[7])}, n)
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTimeLimitKeepsWhatArrived(t *testing.T) {
	addr := stallingServer(t, 1000)
	tr, err := DownloadFor(testContext(t), TCPDialer(addr), 1<<20, 4, 200*time.Millisecond)
	if err != nil || tr.Complete || tr.Bytes != 1000 || tr.Elapsed < 200*time.Millisecond {
		t.Errorf("DownloadFor of a stalled stream = %+v, %v; want 1000 bytes, incomplete, no error", tr, err)
	}
	par, err := Parallel(testContext(t), TCPDialer(addr), 3, 1<<20, 7, 200*time.Millisecond)
	if err != nil || par.Complete != 0 || par.Bytes != 3000 {
		t.Errorf("Parallel over stalled streams = %+v, %v; want 3000 bytes, none complete", par, err)
	}
}

// recordingDialer dials addr and keeps every connection it returned; the
// dial after the first failAfter ones fails with errDialRefused (failAfter
// < 0: none fails).
type recordingDialer struct {
	addr      string
	failAfter int
	mu        sync.Mutex
	conns     []net.Conn
}

var errDialRefused = errors.New("test: dial refused")

func (d *recordingDialer) dial(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	if d.failAfter >= 0 && len(d.conns) >= d.failAfter {
		d.mu.Unlock()
		return nil, errDialRefused
	}
	d.mu.Unlock()
	c, err := TCPDialer(d.addr)(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conns = append(d.conns, c)
	d.mu.Unlock()
	return c, nil
}

// open counts the dialed connections not yet closed (without blocking: a
// closed connection refuses a new deadline).
func (d *recordingDialer) open(t *testing.T) int {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.conns {
		err := c.SetReadDeadline(time.Time{})
		switch {
		case err == nil:
			n++
		case !errors.Is(err, net.ErrClosed):
			t.Errorf("deadline on a dialed connection: %v", err)
		}
	}
	return n
}

func TestHoldIdleHoldsEveryConnectionThenClosesThem(t *testing.T) {
	tg := startTarget(t)
	d := &recordingDialer{addr: tg.Addr().String(), failAfter: -1}
	const n = 3*IdleDialers + 5
	held := 0
	err := HoldIdle(testContext(t), d.dial, n, func() {
		held++
		tg.mu.Lock()
		serving := len(tg.conns)
		tg.mu.Unlock()
		if open := d.open(t); open != n || serving != n {
			t.Errorf("while held: %d connections open, the target serves %d; want %d each", open, serving, n)
		}
	})
	if err != nil || held != 1 {
		t.Fatalf("HoldIdle = %v, held called %d times; want no error, once", err, held)
	}
	if open := d.open(t); open != 0 {
		t.Errorf("%d connections still open after HoldIdle returned", open)
	}
}

func TestHoldIdleFailsOnDialError(t *testing.T) {
	tg := startTarget(t)
	d := &recordingDialer{addr: tg.Addr().String(), failAfter: 40}
	err := HoldIdle(testContext(t), d.dial, 100, func() { t.Error("held called although a dial failed") })
	if !errors.Is(err, errDialRefused) {
		t.Errorf("HoldIdle with a failing dial = %v, want errDialRefused", err)
	}
	if open := d.open(t); open != 0 {
		t.Errorf("%d connections left open after a failed HoldIdle", open)
	}
}

func TestHoldIdleDetectsWrongEcho(t *testing.T) {
	tg := startTarget(t)
	proxy := corruptingProxy(t, tg.Addr().String(), 10) // byte 10 of every echo
	err := HoldIdle(testContext(t), TCPDialer(proxy), 5, func() { t.Error("held called although an echo was wrong") })
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("HoldIdle through a corrupting proxy = %v, want ErrCorrupt", err)
	}
}
