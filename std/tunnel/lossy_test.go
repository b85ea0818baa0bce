package tunnel

import (
	"context"
	"net"
	"testing"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/netem"
)

// lossyLink returns a client PacketDialer and a server PacketConn joined
// by an emulated link with spec in both directions. The dialer hands out
// its end once: the test's client makes one session.
func lossyLink(t *testing.T, spec string) (transport func(context.Context, string) (net.PacketConn, net.Addr, error), server *netem.Conn) {
	t.Helper()
	s, err := netem.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	a, b, err := netem.NewPair(s, s, netem.WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	used := make(chan struct{}, 1)
	dial := func(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error) {
		select {
		case used <- struct{}{}:
			return a, b.LocalAddr(), nil
		default:
			return nil, nil, net.ErrClosed
		}
	}
	return dial, b
}

// Transfers through a link that loses 10 % of the packets each way and
// reorders some stay intact, with and without FEC and compression.
func TestLossyLinkKeepsEveryByte(t *testing.T) {
	cases := []struct {
		name string
		set  func(*config.Common)
	}{
		{"defaults", func(*config.Common) {}},
		{"fec-off-nocomp", func(c *config.Common) { c.DataShard, c.ParityShard, c.NoComp = 0, 0, true }},
		{"smux-v2-qpp", func(c *config.Common) { c.SmuxVer, c.QPP = 2, true }},
		{"auto", func(c *config.Common) { c.Mode = config.ModeAuto; c.ApplyModePreset() }},
		{"fast3-sendctl-rate", func(c *config.Common) { c.Mode, c.SendCtl = "fast3", config.SendCtlRate; c.ApplyModePreset() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dial, pc := lossyLink(t, "loss=10%,reorder=5%/2ms,delay=2ms,jitter=1ms")
			p := startPair(t, pairSetup{
				both:       tc.set,
				serverPCs:  []net.PacketConn{pc},
				clientOpts: []ClientOption{WithPacketDialer(dial)},
				client: func(c *config.Client) {
					c.RemoteAddr = pc.LocalAddr().String()
					c.SndWnd, c.RcvWnd = 256, 256
				},
			})
			p.concurrent(t, 4, 200_000, 1_000_000)
			st := pc.Stats()
			for dir, d := range map[string]netem.DirStats{"client→server": st.Down, "server→client": st.Up} {
				if d.LossDrops == 0 || d.Reordered == 0 {
					t.Errorf("%s: the link lost %d and reordered %d packets; the test needs both", dir, d.LossDrops, d.Reordered)
				}
			}
		})
	}
}
