package tunnel

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// Seeds of the testnet request header that make the faultTarget
// misbehave; any other seed is served like testnet's target.
const (
	seedReset  = 0xdead0001 // accept, read the header, reset the connection
	seedSilent = 0xdead0002 // accept, read to EOF, never answer, close only at EOF
)

// faultTarget is a target server that can be taken down and brought up
// again on the same address, and that misbehaves on request.
type faultTarget struct {
	addr string
	mu   sync.Mutex
	ln   net.Listener
	wg   sync.WaitGroup
	errs []error
	eofs chan uint32 // seeds of silent connections that read EOF
}

func startFaultTarget(t *testing.T) *faultTarget {
	ft := &faultTarget{eofs: make(chan uint32, 16)}
	ln := listenTCP(t)
	ft.addr = ln.Addr().String()
	ft.serve(ln)
	t.Cleanup(func() {
		ft.down()
		ft.wg.Wait()
		ft.mu.Lock()
		defer ft.mu.Unlock()
		if err := errors.Join(ft.errs...); err != nil {
			t.Errorf("target: %v", err)
		}
	})
	return ft
}

func (ft *faultTarget) serve(ln net.Listener) {
	ft.mu.Lock()
	ft.ln = ln
	ft.mu.Unlock()
	ft.wg.Add(1)
	go func() {
		defer ft.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ft.wg.Add(1)
			go func() {
				defer ft.wg.Done()
				if err := ft.serveOne(c); err != nil {
					ft.mu.Lock()
					ft.errs = append(ft.errs, err)
					ft.mu.Unlock()
				}
			}()
		}
	}()
}

func (ft *faultTarget) serveOne(c net.Conn) error {
	defer c.Close()
	var h [8]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return err
	}
	seed, replyLen := binary.BigEndian.Uint32(h[:4]), int(binary.BigEndian.Uint32(h[4:]))
	switch seed {
	case seedReset:
		c.(*net.TCPConn).SetLinger(0)
		return nil
	case seedSilent:
		io.Copy(io.Discard, c)
		ft.eofs <- seed
		return nil
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if err := testnet.Compare(got, testnet.Pattern(seed, len(got))); err != nil {
		return err
	}
	_, err = c.Write(testnet.Pattern(seed+1, replyLen))
	return err
}

// down closes the listener: new connections are refused.
func (ft *faultTarget) down() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.ln != nil {
		ft.ln.Close()
		ft.ln = nil
	}
}

// up listens on the same address again.
func (ft *faultTarget) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", ft.addr)
	if err != nil {
		t.Fatalf("target back on %s: %v", ft.addr, err)
	}
	ft.serve(ln)
}

// sendRequestHeader sends the request header for seed.
func sendRequestHeader(t *testing.T, c net.Conn, seed uint32, replyLen int) {
	t.Helper()
	var h [8]byte
	binary.BigEndian.PutUint32(h[:4], seed)
	binary.BigEndian.PutUint32(h[4:], uint32(replyLen))
	if _, err := c.Write(h[:]); err != nil {
		t.Fatal(err)
	}
}

// closedWithin reads c until it ends (EOF or error), failing the test if
// that takes longer than d or if data arrives.
func closedWithin(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	n, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the local connection is still open after %v", what, d)
	}
	if n > 0 {
		t.Fatalf("%s: %d bytes arrived from a failed target", what, n)
	}
}

// A target that is down, resets the connection, or never answers costs
// only its own stream: that local connection is closed promptly and the
// server logs why, while a stream in flight on the same session goes on
// and new streams work once the target is back, all on one KCP session.
func TestTargetFaultsCostOneStream(t *testing.T) {
	ft := startFaultTarget(t)
	log, lb := captureLog(t, slog.LevelInfo)
	p := startPair(t, pairSetup{log: log, server: func(c *config.Server) { c.Target = ft.addr }})

	// A stream in flight through all the faults below.
	long := p.dial(t)
	body := testnet.Pattern(1, 200_000)
	sendRequestHeader(t, long, 1, 300_000)
	if _, err := long.Write(body[:100_000]); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, p, 1)
	conv := p.client.SessionInfos()[0].Conv

	t.Run("reset", func(t *testing.T) {
		c := p.dial(t)
		sendRequestHeader(t, c, seedReset, 10)
		closedWithin(t, c, 5*time.Second, "target reset the connection")
		if _, ok := lb.waitLine(5*time.Second, "stream closed", "reset by peer"); !ok {
			t.Errorf("no \"stream closed\" line with the reset:\n%s", lb)
		}
	})
	t.Run("silent-then-client-gives-up", func(t *testing.T) {
		c := p.dial(t)
		sendRequestHeader(t, c, seedSilent, 10)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.Read(make([]byte, 1)); n > 0 || !isNetTimeout(err) {
			t.Fatalf("silent target: read %d bytes, %v; want a timeout", n, err)
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // the application gives up: the target must hear of it
		select {
		case <-ft.eofs:
		case <-time.After(5 * time.Second):
			t.Fatal("the target never saw the end of the abandoned stream")
		}
	})
	t.Run("silent-half-closed", func(t *testing.T) {
		c := p.dial(t)
		sendRequestHeader(t, c, seedSilent, 10)
		c.(*net.TCPConn).CloseWrite()
		select {
		case <-ft.eofs:
		case <-time.After(5 * time.Second):
			t.Fatal("the half-close never reached the target")
		}
		closedWithin(t, c, 5*time.Second, "target closed without answering")
	})
	t.Run("down", func(t *testing.T) {
		ft.down()
		c := p.dial(t)
		sendRequestHeader(t, c, 9, 10)
		closedWithin(t, c, 5*time.Second, "target down")
		if _, ok := lb.waitLine(5*time.Second, "cannot reach target", "refused"); !ok {
			t.Errorf("no \"cannot reach target\" line:\n%s", lb)
		}
	})

	// The stream in flight is intact.
	if _, err := long.Write(body[100_000:]); err != nil {
		t.Fatal(err)
	}
	long.(*net.TCPConn).CloseWrite()
	if err := testnet.ReadAllCompare(long, testnet.Pattern(2, 300_000)); err != nil {
		t.Fatalf("stream in flight: %v", err)
	}
	ft.up(t)
	if err := testnet.Exchange(p.dial(t), 3, 1000, 1000); err != nil {
		t.Fatalf("after the target came back: %v", err)
	}
	infos := p.client.SessionInfos()
	if len(infos) != 1 || infos[0].Conv != conv {
		t.Fatalf("client sessions %+v; want the one of conv %d", infos, conv)
	}
}

// waitSessions waits until the server serves n sessions.
func waitSessions(t *testing.T, p *pair, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.server.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("server has %d sessions, want %d", p.server.Sessions(), n)
		}
		time.Sleep(5 * time.Millisecond) // polling the server, not synchronising
	}
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
