package faketcptest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/netns"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// The link between the namespaces: RFC 2544's benchmarking range, which
// exists only inside the test's namespaces.
const (
	clientCIDR = "198.18.7.1/30"
	serverCIDR = "198.18.7.2/30"
	serverIP   = "198.18.7.2"
	testKey    = "faketcp-test-key"
	lossMarker = "faketcp-test-loss" // comment on the test's own loss rules
	udpMarker  = "faketcp-test-udp"  // comment on the test's own UDP counting rules
)

var bin struct {
	once sync.Once
	dir  string
	err  error
}

// TestMain removes the binaries built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// binaries builds the client and server once per test run and returns
// the directory holding them, readable by every user.
func binaries(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		bin.dir, bin.err = os.MkdirTemp("", "faketcp-bin-")
		if bin.err != nil {
			return
		}
		if bin.err = os.Chmod(bin.dir, 0o755); bin.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", bin.dir,
			"github.com/kcptun-go/tunnel/client", "github.com/kcptun-go/tunnel/server")
		if out, err := cmd.CombinedOutput(); err != nil {
			bin.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.dir
}

// world is a client namespace and a server namespace joined by a veth.
type world struct {
	client, server     *netns.NS
	clientIf, serverIf string
	bins               string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	netns.Require(t, "iptables", "iptables-save", "ip6tables-save")
	w := &world{bins: binaries(t)}
	w.client = netns.New(t, "ftc")
	w.server = netns.New(t, "fts")
	w.clientIf, w.serverIf = netns.Link(t, w.client, w.server, clientCIDR, serverCIDR)
	return w
}

// rules is the firewall of both namespaces, less the test's loss rules.
func (w *world) rules(t *testing.T) map[string][]string {
	t.Helper()
	return map[string][]string{
		"client": w.client.FirewallRules(t, lossMarker, udpMarker),
		"server": w.server.FirewallRules(t, lossMarker, udpMarker),
	}
}

// requireRules fails t unless the firewall is as it was before.
func (w *world) requireRules(t *testing.T, before map[string][]string) {
	t.Helper()
	for side, now := range w.rules(t) {
		if !slices.Equal(now, before[side]) {
			t.Errorf("%s namespace firewall changed:\nbefore: %q\nnow:    %q", side, before[side], now)
		}
	}
}

// requireFakeTCPRules fails t unless each side has gained the rule that
// drops its own kernel's segments (TTL 1) on the fake connection: the
// cleanup checks mean nothing if no rule was ever installed.
func (w *world) requireFakeTCPRules(t *testing.T, before map[string][]string) {
	t.Helper()
	for side, now := range w.rules(t) {
		var added []string
		for _, r := range now {
			if !slices.Contains(before[side], r) {
				added = append(added, r)
			}
		}
		if !slices.ContainsFunc(added, func(r string) bool { return strings.Contains(r, "--ttl-eq 1") }) {
			t.Fatalf("%s namespace: no TTL-1 drop rule installed while running; added rules: %q", side, added)
		}
	}
}

// addLoss drops each packet arriving over the veth with probability p,
// in both namespaces (so both directions), in the kernel.
func (w *world) addLoss(t *testing.T, p float64) {
	t.Helper()
	for _, v := range []struct {
		ns  *netns.NS
		dev string
	}{{w.client, w.clientIf}, {w.server, w.serverIf}} {
		v.ns.Run(t, "iptables", "-w", "-A", "INPUT", "-i", v.dev, "-m", "statistic", "--mode", "random",
			"--probability", strconv.FormatFloat(p, 'f', -1, 64), "-m", "comment", "--comment", lossMarker, "-j", "DROP")
	}
}

// lossDrops is how many packets the loss rules of addLoss have dropped.
func (w *world) lossDrops(t *testing.T) int {
	t.Helper()
	return w.markedPackets(t, "INPUT", lossMarker)
}

// countUDP makes the kernel of each namespace count the IPv4 UDP
// datagrams it sends over the veth, a witness beside the capture that does
// not depend on tcpdump keeping up. It checks that the count works with one
// datagram from the client namespace, then starts the counts from zero.
func (w *world) countUDP(t *testing.T) {
	t.Helper()
	for _, v := range []struct {
		ns  *netns.NS
		dev string
	}{{w.client, w.clientIf}, {w.server, w.serverIf}} {
		v.ns.Run(t, "iptables", "-w", "-I", "OUTPUT", "-o", v.dev, "-p", "udp", "-m", "comment", "--comment", udpMarker)
	}
	err := w.client.Do(func() error {
		c, err := net.Dial("udp", net.JoinHostPort(serverIP, "9"))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("probe")) // counted in OUTPUT before Write returns
		return err
	})
	if err != nil {
		t.Fatalf("send a UDP probe: %v", err)
	}
	if n := w.udpSent(t); n != 1 {
		t.Fatalf("the UDP counting rules saw %d datagrams after one probe, want 1", n)
	}
	for _, ns := range []*netns.NS{w.client, w.server} {
		ns.Run(t, "iptables", "-w", "-Z", "OUTPUT")
	}
	if n := w.udpSent(t); n != 0 {
		t.Fatalf("the UDP counting rules still say %d after zeroing", n)
	}
}

// udpSent is how many UDP datagrams the rules of countUDP have counted.
func (w *world) udpSent(t *testing.T) int {
	t.Helper()
	return w.markedPackets(t, "OUTPUT", udpMarker)
}

// markedPackets sums the packet counts of the rules of chain (filter
// table) commented with marker, in both namespaces.
func (w *world) markedPackets(t *testing.T, chain, marker string) int {
	t.Helper()
	total := 0
	for _, ns := range []*netns.NS{w.client, w.server} {
		for _, line := range strings.Split(ns.Run(t, "iptables", "-w", "-L", chain, "-v", "-n", "-x"), "\n") {
			if f := strings.Fields(line); strings.Contains(line, marker) && len(f) > 0 {
				n, err := strconv.Atoi(f[0])
				if err != nil {
					t.Fatalf("packet count in %q: %v", line, err)
				}
				total += n
			}
		}
	}
	return total
}

// running is a server and a client running with --tcp, and the verifying
// target behind the server.
type running struct {
	server, client *proc
	local          string // the client's listening address, in the client namespace
	target         *testnet.Target
}

func (w *world) startTunnel(t *testing.T) *running {
	t.Helper()
	targetLn := w.server.Listen(t, "127.0.0.1:0")
	tun := &running{target: testnet.ServeTarget(t, targetLn)}
	port := strconv.Itoa(w.server.FreePort(t, ""))
	tun.server = start(t, "server", w.server.Command(filepath.Join(w.bins, "server"),
		"-l", ":"+port, "-t", targetLn.Addr().String(), "--key", testKey, "--tcp"))
	tun.server.waitOutput(t, "msg=listening", 2, 10*time.Second) // UDP and fake TCP
	tun.local = net.JoinHostPort("127.0.0.1", strconv.Itoa(w.client.FreePort(t, "127.0.0.1")))
	tun.client = start(t, "client", w.client.Command(filepath.Join(w.bins, "client"),
		"-l", tun.local, "-r", net.JoinHostPort(serverIP, port), "--key", testKey, "--tcp"))
	tun.client.waitOutput(t, "msg=listening", 1, 10*time.Second)
	return tun
}

// exchange sends req bytes through the tunnel to the target, which checks
// each byte, and checks every byte of its reply of reply bytes.
func (w *world) exchange(t *testing.T, tun *running, seed uint32, req, reply int, timeout time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	c, err := w.client.Dial(tun.local)
	if err != nil {
		t.Fatalf("dial the client: %v", err)
	}
	defer c.Close()
	c.SetDeadline(begin.Add(timeout))
	if err := testnet.Exchange(c, seed, req, reply); err != nil {
		t.Fatalf("exchange of %d bytes (seed %d) after %v: %v", req, seed, time.Since(begin), err)
	}
	return time.Since(begin)
}
