package tunnel

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/crypt"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

func TestEveryCrypt(t *testing.T) {
	for _, name := range crypt.Names() {
		t.Run(name, func(t *testing.T) {
			p := startPair(t, pairSetup{both: func(c *config.Common) { c.Crypt = name }})
			p.exchange(t, 2, 3000, 200_000)
		})
	}
}

func TestLayerOptions(t *testing.T) {
	qppKey := strings.Repeat("qpp-test-key-", 20) // ≥ 210 bytes: no QPP warning
	cases := []struct {
		name string
		set  func(*config.Common)
	}{
		{"nocomp", func(c *config.Common) { c.NoComp = true }},
		{"smux-v1", func(c *config.Common) { c.SmuxVer = 1 }},
		{"smux-v2", func(c *config.Common) { c.SmuxVer = 2 }},
		{"fec-off", func(c *config.Common) { c.DataShard, c.ParityShard = 0, 0 }},
		{"fec-5-5", func(c *config.Common) { c.DataShard, c.ParityShard = 5, 5 }},
		{"qpp", func(c *config.Common) { c.QPP, c.Key, c.QPPCount = true, qppKey, 61 }},
		{"qpp-smuxv2-nocomp", func(c *config.Common) {
			c.QPP, c.Key, c.QPPCount, c.SmuxVer, c.NoComp = true, qppKey, 7, 2, true
		}},
		{"mode-normal", func(c *config.Common) {
			c.Mode = "normal"
			c.NoDelay, c.Interval, c.Resend, c.NoCongestion = 0, 40, 2, 1
		}},
		{"small-mtu", func(c *config.Common) { c.MTU = 576 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startPair(t, pairSetup{both: tc.set})
			p.exchange(t, 2, 100_000, 300_000)
		})
	}
}

// QPP on one side only must not pass: the target checks the request, the
// client checks the reply, so neither direction may be transformed alone.
func TestQPPOneSidedFails(t *testing.T) {
	key := strings.Repeat("k", 256)
	for _, side := range []string{"client", "server"} {
		t.Run(side+"-only", func(t *testing.T) {
			ps := pairSetup{both: func(c *config.Common) { c.Key = key }}
			on := func(c *config.Common) { c.QPP = true }
			if side == "client" {
				ps.client = func(c *config.Client) { on(&c.Common) }
			} else {
				ps.server = func(c *config.Server) { on(&c.Common) }
			}
			p := startPair(t, ps)
			c := p.dial(t)
			err := testnet.Exchange(c, 7, 5000, 5000)
			_, terr := p.target.Result()
			if err == nil && terr == nil {
				t.Fatal("exchange with QPP on one side succeeded")
			}
		})
	}
}

// A request whose sender half-closes still gets its whole reply, and the
// target saw EOF (it answers only after reading to EOF).
func TestHalfClose(t *testing.T) {
	p := startPair(t, pairSetup{})
	c := p.dial(t)
	if err := testnet.Exchange(c, 42, 1<<20, 1<<20); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.target.Result(); ok != 1 || err != nil {
		t.Fatalf("target verified %d, err %v", ok, err)
	}
}

func TestConnRoundRobin(t *testing.T) {
	p := startPair(t, pairSetup{client: func(c *config.Client) { c.Conn = 3 }})
	p.concurrent(t, 50, 20_000, 50_000)
	if n := p.server.Sessions(); n != 3 {
		t.Fatalf("server has %d sessions, want 3 (--conn 3)", n)
	}
}

// The server listens on every port of a range; each client session dials
// a random port of it.
func TestPortRange(t *testing.T) {
	pcs, lo, hi := listenUDPRange(t, 3)
	p := startPair(t, pairSetup{
		serverPCs: pcs,
		client: func(c *config.Client) {
			c.RemoteAddr = "127.0.0.1:" + itoa(lo) + "-" + itoa(hi)
			c.Conn = 8
		},
	})
	p.concurrent(t, 16, 1000, 10_000)
}

func TestUnixSocketTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := startPair(t, pairSetup{targetLn: ln, server: func(c *config.Server) { c.Target = path }})
	p.exchange(t, 2, 10_000, 100_000)
}

func TestUnixSocketLocal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := startPair(t, pairSetup{localLn: ln})
	p.exchange(t, 2, 10_000, 100_000)
}

func TestCloseIsIdempotent(t *testing.T) {
	p := startPair(t, pairSetup{})
	p.exchange(t, 1, 10, 10)
	for i := 0; i < 2; i++ {
		if err := p.client.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.server.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
