package tunnel

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// Load held by one server and one session.
const (
	loadSessions      = 500
	loadStreams       = 2000
	loadSessionsBatch = 50 // local connections at once while sessions are made
)

// A server serves loadSessions client sessions at once: a client with
// --conn 500 and 500 local connections open puts each on its own session
// (a new connection goes to a slot with none open before it shares one).
func TestManySessions(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	echo := listenTCP(t)
	go serveEcho(echo)
	t.Cleanup(func() { echo.Close() })
	p := startPair(t, pairSetup{
		client: func(c *config.Client) { c.Conn = loadSessions },
		server: func(c *config.Server) { c.Target = echo.Addr().String() },
	})
	for done := 0; done < loadSessions; done += loadSessionsBatch {
		errs := make(chan error, loadSessionsBatch)
		for i := done; i < done+loadSessionsBatch; i++ {
			c := p.dial(t) // open until the test ends
			go func() { errs <- echoRound(c, testnet.Pattern(uint32(i), 100)) }()
		}
		for range loadSessionsBatch {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := p.server.Sessions(); n != loadSessions {
		t.Fatalf("server serves %d sessions, want %d", n, loadSessions)
	}
	if n := len(p.client.SessionInfos()); n != loadSessions {
		t.Fatalf("client has %d sessions, want %d", n, loadSessions)
	}
}

// loadStreams streams are open at once through one session, then all
// complete byte-exact. The target echoes as it reads, so the server
// answers every stream while the others are being opened (a server that
// stays silent for answerWait after a write makes the client move new
// streams to a new session: liveness.go).
func TestManyStreamsOneSession(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n := loadStreams
	echo := listenTCP(t)
	go serveEcho(echo)
	t.Cleanup(func() { echo.Close() })
	p := startPair(t, pairSetup{server: func(c *config.Server) { c.Target = echo.Addr().String() }})
	start := time.Now()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = p.dial(t)
		if err := echoRound(conns[i], testnet.Pattern(uint32(2*i+1), 64)); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	if got := streamsOnServer(p); got != n {
		t.Fatalf("%d streams open on the server, want %d", got, n)
	}
	t.Logf("%d goroutines with %d streams open", runtime.NumGoroutine(), n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := testnet.Pattern(uint32(2*i+2), 64)
			if _, err := c.Write(want); err != nil {
				errs <- err
				return
			}
			c.(*net.TCPConn).CloseWrite()
			errs <- testnet.ReadAllCompare(c, want)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := p.server.Sessions(); s != 1 {
		t.Fatalf("%d sessions, want 1", s)
	}
	t.Logf("%d concurrent streams through one session in %v", n, time.Since(start).Round(time.Millisecond))
}

// serveEcho echoes every connection of ln until EOF, then half-closes it.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
			c.(*net.TCPConn).CloseWrite()
		}()
	}
}

// echoRound writes b to c and reads it back.
func echoRound(c net.Conn, b []byte) error {
	if _, err := c.Write(b); err != nil {
		return err
	}
	got := make([]byte, len(b))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, b) {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

func streamsOnServer(p *pair) int {
	total := 0
	for _, s := range p.server.SessionInfos() {
		total += s.Streams
	}
	return total
}
