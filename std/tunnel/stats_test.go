package tunnel

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
)

// syncBuffer is a log destination for the goroutines that log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Both roles list their sessions: the same conversation seen from each
// end, the streams open now, and the bytes each way.
func TestSessionInfosListLiveSessions(t *testing.T) {
	// --nocomp: the byte counts then bound the payload (and smux's
	// vectored writes, used only without compression, are counted too).
	p := startPair(t, pairSetup{both: func(c *config.Common) { c.NoComp = true }})
	p.exchange(t, 1, 50_000, 80_000)
	held := p.dial(t)
	if _, err := held.Write([]byte{0}); err != nil { // half a header: the stream stays open
		t.Fatal(err)
	}
	waitFor(t, "one session with one stream on each side", func() bool {
		c, s := p.client.SessionInfos(), p.server.SessionInfos()
		return len(c) == 1 && len(s) == 1 && c[0].Streams == 1 && s[0].Streams == 1
	})
	s := p.server.SessionInfos()[0]
	c := p.client.SessionInfos()[0] // after s: the server cannot have read more than this
	if c.Conv != s.Conv {
		t.Errorf("conv: client %d, server %d", c.Conv, s.Conv)
	}
	if c.Remote != s.Local || port(t, s.Remote) != port(t, c.Local) {
		t.Errorf("addresses: client %s → %s, server %s ← %s", c.Local, c.Remote, s.Local, s.Remote)
	}
	if c.BytesOut < 50_000 || s.BytesOut < 80_000 {
		t.Errorf("bytes out: client %d (sent 50 000), server %d (sent 80 000)", c.BytesOut, s.BytesOut)
	}
	if s.BytesIn < 50_000 || s.BytesIn > c.BytesOut || c.BytesIn < 80_000 {
		t.Errorf("bytes in: server %d of the client's %d, client %d of the server's %d",
			s.BytesIn, c.BytesOut, c.BytesIn, s.BytesOut)
	}
	for _, si := range []SessionInfo{c, s} {
		if si.RTO <= 0 || si.Age <= 0 || si.SRTT < 0 {
			t.Errorf("timings of %+v", si)
		}
	}
	if p.server.Sessions() != 1 {
		t.Errorf("Sessions() = %d, want 1", p.server.Sessions())
	}
}

// A session's end is logged with the reason; streams are logged with
// their peers, bytes each way and duration, unless --quiet.
func TestSessionAndStreamLogLines(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(map[bool]string{false: "verbose", true: "quiet"}[quiet], func(t *testing.T) {
			var buf syncBuffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			p := startPair(t, pairSetup{log: log, both: func(c *config.Common) { c.Quiet = quiet }})
			p.exchange(t, 1, 1000, 3000)
			p.client.Close()
			p.server.Close()
			out := buf.String()
			lines := func(msg string) []string {
				var found []string
				for _, l := range strings.Split(out, "\n") {
					if strings.Contains(l, "msg=\""+msg+"\"") {
						found = append(found, l)
					}
				}
				return found
			}
			if n := len(lines("session opened")); n != 2 {
				t.Errorf("%d session opened lines, want 2:\n%s", n, out)
			}
			closed := strings.Join(lines("session closed"), "\n")
			for _, want := range []string{`reason="client closed"`, `reason="server closed"`, "bytes_in=", "age="} {
				if !strings.Contains(closed, want) {
					t.Errorf("session closed lines lack %s:\n%s", want, out)
				}
			}
			opened, streamClosed := lines("stream opened"), lines("stream closed")
			if quiet {
				if len(opened)+len(streamClosed) > 0 {
					t.Errorf("--quiet logged streams:\n%s", out)
				}
				return
			}
			if len(opened) != 2 || len(streamClosed) != 2 {
				t.Fatalf("want 2 stream opened and 2 stream closed lines:\n%s", out)
			}
			// The client's app sent 8+1000 bytes and got 3000; the
			// server's app (the target) the other way round.
			want := []string{"app_to_tunnel=1008 tunnel_to_app=3000", "app_to_tunnel=3000 tunnel_to_app=1008"}
			for _, w := range want {
				if !strings.Contains(strings.Join(streamClosed, "\n"), w) {
					t.Errorf("no stream closed line with %s:\n%s", w, out)
				}
			}
			for _, l := range streamClosed {
				if !strings.Contains(l, "duration=") || !strings.Contains(l, "remote=127.0.0.1:") {
					t.Errorf("stream closed line lacks duration or peer: %s", l)
				}
			}
		})
	}
}
