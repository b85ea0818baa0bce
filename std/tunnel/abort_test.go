package tunnel

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// abortWithin is how long an aborted stream may take to stop the far
// end's copy: a few round trips on loopback, with room for a slow CI.
const abortWithin = 10 * time.Second

// endlessTarget serves every connection with data until a write fails,
// and reports the failure (the server closed the connection).
func endlessTarget(t *testing.T) (addr string, failed <-chan error) {
	t.Helper()
	ln := listenTCP(t)
	errs := make(chan error, 4)
	testnet.ServeEach(t, ln, func(c net.Conn) {
		chunk := make([]byte, 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				errs <- err
				return
			}
		}
	})
	return ln.Addr().String(), errs
}

// A download the application gives up on stops at the server: the
// target's connection is closed, rather than the server sending the rest
// over the link to a client that drops it. With smux v1 nothing but the
// second FIN tells the server; with v2 the stream's window would only
// stall it, holding the target open.
func TestCancelledDownloadStopsAtTheTarget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		smux      int
		halfFirst bool // the application half-closes before it goes
	}{
		{"smux1", 1, false},
		{"smux1 after a half-close", 1, true},
		{"smux2", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, failed := endlessTarget(t)
			p := startPair(t, pairSetup{
				server: func(c *config.Server) { c.Target = addr },
				both:   func(c *config.Common) { c.SmuxVer = tc.smux },
			})
			app := p.dial(t)
			if tc.halfFirst {
				app.(*net.TCPConn).CloseWrite()
			}
			if _, err := io.CopyN(io.Discard, app, 1<<20); err != nil {
				t.Fatalf("download: %v", err)
			}
			app.Close() // unread data: a reset
			select {
			case <-failed:
			case <-time.After(abortWithin):
				t.Fatalf("the target still sends %v after the application closed", abortWithin)
			}
		})
	}
}

// An upload whose target goes away stops at the client: the
// application's writes fail, rather than the client sending for ever to
// a server that drops the data.
func TestUploadToAGoneTargetStopsAtTheApplication(t *testing.T) {
	ln := listenTCP(t)
	testnet.ServeEach(t, ln, func(c net.Conn) {
		var h [8]byte
		io.ReadFull(c, h[:])
		c.(*net.TCPConn).SetLinger(0) // the close resets
	})
	p := startPair(t, pairSetup{server: func(c *config.Server) { c.Target = ln.Addr().String() }})
	app := p.dial(t)
	chunk := make([]byte, 32<<10)
	binary.BigEndian.PutUint64(chunk, 1)
	app.SetWriteDeadline(time.Now().Add(abortWithin))
	for {
		_, err := app.Write(chunk)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the application can still send %v after the target reset", abortWithin)
		}
		if err != nil {
			return
		}
	}
}
