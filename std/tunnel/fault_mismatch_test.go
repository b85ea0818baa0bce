package tunnel

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// startExtraClient serves one more client (besides a pair's own) on a local
// TCP port until the test ends, and returns that port's address.
func startExtraClient(t *testing.T, cfg config.Client, log *slog.Logger) string {
	t.Helper()
	cli, err := NewClient(&cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ln := listenTCP(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := cli.Serve(ln); !errors.Is(err, ErrServerClosed) {
			t.Errorf("client: %v", err)
		}
	}()
	t.Cleanup(func() {
		cli.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// A client whose settings differ from the server's cannot disturb the
// sessions of a good client, and the server's log names the likely
// mismatch once (rate limited), however many packets or sessions fail.
// One-sided QPP has no symptom on the wire: only the application sees
// wrong bytes, so no line is expected for it.
func TestPeerMismatch(t *testing.T) {
	qppKey := strings.Repeat("mismatch-qpp-key-", 16)
	cases := []struct {
		name   string
		server func(*config.Common) // the server and the good client
		bad    func(*config.Common) // the bad client, after server
		hint   string
	}{
		{"key", nil, func(c *config.Common) { c.Key = "another key" }, hintChecksum},
		{"crypt", nil, func(c *config.Common) { c.Crypt = "salsa20" }, hintChecksum},
		{"crypt-null-client", nil, func(c *config.Common) { c.Crypt = "null" }, hintChecksum},
		{"nocomp-client-only", nil, func(c *config.Common) { c.NoComp = true }, hintComp},
		{"nocomp-server-only", func(c *config.Common) { c.NoComp = true }, func(c *config.Common) { c.NoComp = false }, hintSmux},
		{"smuxver", nil, func(c *config.Common) { c.SmuxVer = 2 }, hintSmux},
		{"qpp-client-only", func(c *config.Common) { c.Key = qppKey }, func(c *config.Common) { c.QPP = true }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, lb := captureLog(t, slog.LevelWarn)
			pc := listenUDP(t)
			p := startPair(t, pairSetup{both: tc.server, serverPCs: []net.PacketConn{pc}, log: log})
			bad := config.DefaultClient()
			testCommon(&bad.Common)
			if tc.server != nil {
				tc.server(&bad.Common)
			}
			tc.bad(&bad.Common)
			bad.RemoteAddr = pc.LocalAddr().String()
			badLocal := startExtraClient(t, bad, testLogger(t))

			// Several bad connections, so that several packets and
			// sessions fail: the hint must still be logged once.
			badDone := make(chan error, 3)
			for i := range 3 {
				c, err := net.Dial("tcp", badLocal)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				go func() { badDone <- testnet.Exchange(c, uint32(500+i), 4000, 4000) }()
			}
			if tc.hint != "" {
				if _, ok := lb.waitLine(10*time.Second, tc.hint); !ok {
					t.Fatalf("no %q line in the server log:\n%s", tc.hint, lb)
				}
			}
			// The good client works while the bad one keeps trying.
			for i := range 3 {
				if err := testnet.Exchange(p.dial(t), uint32(i+1), 20_000, 50_000); err != nil {
					t.Fatalf("good client, exchange %d: %v", i, err)
				}
			}
			if tc.hint == "" {
				for range 3 {
					if err := <-badDone; err == nil {
						t.Error("an exchange through the mismatched client succeeded")
					}
				}
				return
			}
			if n := len(lb.lines(tc.hint)); n != 1 {
				t.Errorf("%d %q lines, want 1 (rate limited):\n%s", n, tc.hint, lb)
			}
			for _, h := range []string{hintChecksum, hintComp, hintSmux} {
				if h != tc.hint && len(lb.lines(h)) > 0 {
					t.Errorf("a wrong hint was logged too: %q\n%s", h, lb)
				}
			}
		})
	}
}

func TestHealthRateLimit(t *testing.T) {
	var h health
	t0 := time.Unix(1000, 0)
	if ok, _ := h.allow("x", t0); !ok {
		t.Fatal("first line held back")
	}
	for i := 1; i <= 5; i++ {
		if ok, _ := h.allow("x", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d let through %d s after the first", i, i)
		}
	}
	if ok, _ := h.allow("y", t0.Add(time.Second)); !ok {
		t.Fatal("another hint held back by the first one's limit")
	}
	ok, held := h.allow("x", t0.Add(hintEvery))
	if !ok || held != 5 {
		t.Fatalf("after %v: allowed %v, %d held back; want true, 5", hintEvery, ok, held)
	}
}
