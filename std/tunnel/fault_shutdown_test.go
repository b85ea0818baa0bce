package tunnel

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// While the server drains, a new stream on a session that carries a
// stream in flight is refused without taking that stream down with it.
func TestShutdownRefusesNewStreamsOnly(t *testing.T) {
	log, lb := captureLog(t, slog.LevelInfo)
	p := startPair(t, pairSetup{log: log})
	long := p.dial(t)
	body := testnet.Pattern(1, 100_000)
	sendRequestHeader(t, long, 1, 200_000)
	if _, err := long.Write(body[:50_000]); err != nil {
		t.Fatal(err)
	}
	// The server serves the stream (it dialed the target) before the drain.
	if _, ok := lb.waitLine(5*time.Second, "stream opened", "target="); !ok {
		t.Fatalf("the server never opened the stream:\n%s", lb)
	}

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- p.server.Shutdown(ctx)
	}()
	for !p.server.isDraining() {
		time.Sleep(5 * time.Millisecond) // polling the server, not synchronising
	}

	refused := p.dial(t)
	sendRequestHeader(t, refused, 2, 10)
	refused.(*net.TCPConn).CloseWrite()
	closedWithin(t, refused, 5*time.Second, "new stream while draining")

	if _, err := long.Write(body[50_000:]); err != nil {
		t.Fatal(err)
	}
	long.(*net.TCPConn).CloseWrite()
	if err := testnet.ReadAllCompare(long, testnet.Pattern(2, 200_000)); err != nil {
		t.Fatalf("stream in flight during the drain: %v", err)
	}
	long.Close()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
