package faketcptest

import (
	"errors"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/netns"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/tunnel"
)

// TestTunnelCloseRemovesRules runs in a namespace of its own: a Server
// and a Client made with --tcp (the library, in this process) carry 4 MB
// each way over loopback fake TCP; Close on both, the library's normal
// way out, leaves the firewall as it was and no goroutine running.
func TestTunnelCloseRemovesRules(t *testing.T) {
	if !netns.Inside() {
		netns.Require(t, "iptables", "iptables-save", "ip6tables-save")
		netns.RunInside(t, netns.New(t, "fti"), t.Name())
		return
	}
	testnet.CheckLeaks(t)
	before := localRules(t)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))

	targetLn := listen(t)
	target := testnet.ServeTarget(t, targetLn)
	portLn := listen(t) // a port that was free; fake TCP cannot listen on port 0
	serverAddr := portLn.Addr().String()
	portLn.Close()

	scfg := config.DefaultServer()
	scfg.Listen, scfg.Target, scfg.Key, scfg.TCP = serverAddr, targetLn.Addr().String(), testKey, true
	scfg.ApplyModePreset()
	srv, err := tunnel.NewServer(&scfg, log)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()

	ccfg := config.DefaultClient()
	ccfg.RemoteAddr, ccfg.Key, ccfg.TCP = serverAddr, testKey, true
	ccfg.ApplyModePreset()
	cli, err := tunnel.NewClient(&ccfg, log)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	localLn := listen(t)
	go cli.Serve(localLn)

	c, err := net.Dial("tcp", localLn.Addr().String())
	if err == nil {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		err = testnet.Exchange(c, 1, 4<<20, 4<<20)
		c.Close()
	}
	if err != nil {
		t.Errorf("exchange: %v", err)
	}
	if running := localRules(t); !slices.ContainsFunc(running, func(r string) bool { return strings.Contains(r, "--ttl-eq 1") }) {
		t.Errorf("no TTL-1 drop rule while running: %q", running)
	}

	cli.Close()
	srv.Close()
	if err := <-served; !errors.Is(err, tunnel.ErrServerClosed) {
		t.Errorf("ListenAndServe: %v, want ErrServerClosed", err)
	}
	if ok, err := target.Result(); ok != 1 || err != nil {
		t.Errorf("target verified %d of 1 requests: %v", ok, err)
	}
	if after := localRules(t); !slices.Equal(after, before) {
		t.Errorf("firewall changed:\nbefore: %q\nafter:  %q", before, after)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// localRules is the rule lines of both firewalls of this process's
// namespace.
func localRules(t *testing.T) []string {
	t.Helper()
	var rules []string
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "-") {
				rules = append(rules, cmd+" "+line)
			}
		}
	}
	return rules
}
