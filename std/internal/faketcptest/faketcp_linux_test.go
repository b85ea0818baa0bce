package faketcptest

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/netns"
	"github.com/kcptun-go/tunnel/std/transport"
)

const transferSize = 64 << 20

// TestFakeTCPCarries64MBWithoutUDP moves 64 MB byte-exact through a --tcp
// tunnel between two namespaces, then 64 MB more with 5 % of the packets
// dropped in each direction, and checks with tcpdump on the link that
// everything crossed as TCP: not one UDP datagram (the kernels' own count
// of UDP sent over the link agrees). After SIGTERM both firewalls are as
// they were.
func TestFakeTCPCarries64MBWithoutUDP(t *testing.T) {
	w := newWorld(t)
	netns.Require(t, "tcpdump")
	before := w.rules(t)
	w.countUDP(t)
	capture := startCapture(t, w.server, w.serverIf)
	tun := w.startTunnel(t)

	took := w.exchange(t, tun, 1, transferSize, 1<<20, 30*time.Second)
	t.Logf("64 MB over fake TCP: %v", took)
	w.requireFakeTCPRules(t, before)

	w.addLoss(t, 0.05)
	took = w.exchange(t, tun, 2, transferSize, 1<<20, 40*time.Second)
	dropped := w.lossDrops(t)
	t.Logf("64 MB over fake TCP with 5%% loss each way: %v (%d packets dropped)", took, dropped)
	if dropped == 0 {
		t.Errorf("the loss rules dropped nothing")
	}
	if ok, err := tun.target.Result(); ok != 2 || err != nil {
		t.Fatalf("target verified %d of 2 requests: %v", ok, err)
	}

	if code := tun.client.stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
		t.Errorf("client exited with %d after SIGTERM", code)
	}
	if code := tun.server.stop(t, syscall.SIGTERM, 20*time.Second); code != 0 {
		t.Errorf("server exited with %d after SIGTERM", code)
	}
	w.requireRules(t, before)

	n := capture.stop(t)
	t.Logf("packets on the link: %d TCP, %d UDP, %d other", n.tcp, n.udp, n.other)
	if n.udp != 0 {
		t.Errorf("%d UDP datagrams crossed the link; with --tcp there must be none", n.udp)
	}
	if sent := w.udpSent(t); sent != 0 {
		t.Errorf("the namespaces sent %d UDP datagrams over the link; with --tcp there must be none", sent)
	}
	// At least one transfer's worth of full-size packets (both went over
	// this link), with room for packets tcpdump could not keep up with.
	if min := transferSize / 1500; n.tcp < min {
		t.Errorf("only %d TCP packets crossed the link, want at least %d", n.tcp, min)
	}
}

// TestFakeTCPRulesRemovedOnSignal stops a running --tcp client and server
// with SIGINT or SIGTERM: each exits 0 and leaves the firewall as it was.
func TestFakeTCPRulesRemovedOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t)
			before := w.rules(t)
			tun := w.startTunnel(t)
			w.exchange(t, tun, 1, 1<<20, 1<<10, 20*time.Second)
			w.requireFakeTCPRules(t, before)
			if code := tun.client.stop(t, sig, 20*time.Second); code != 0 {
				t.Errorf("client exited with %d after %v", code, sig)
			}
			if code := tun.server.stop(t, sig, 20*time.Second); code != 0 {
				t.Errorf("server exited with %d after %v", code, sig)
			}
			w.requireRules(t, before)
		})
	}
}

// TestFakeTCPRulesRemovedOnFatalError starts a --tcp server on two ports
// whose second is taken: it fails after the first port's fake-TCP socket
// has installed its rule, exits 1, and leaves the firewall as it was.
func TestFakeTCPRulesRemovedOnFatalError(t *testing.T) {
	w := newWorld(t)
	before := w.rules(t)
	port := w.server.FreePort(t, "")
	w.server.Listen(t, ":"+itoa(port+1)) // the second port's TCP is taken
	srv := start(t, "server", w.server.Command(filepath.Join(w.bins, "server"),
		"-l", ":"+itoa(port)+"-"+itoa(port+1), "-t", "127.0.0.1:9", "--key", testKey, "--tcp"))
	if code := srv.wait(t, 20*time.Second); code != 1 {
		t.Errorf("server exited with %d, want 1", code)
	}
	if out := srv.output(); !strings.Contains(out, "address already in use") {
		t.Errorf("server did not report the taken port:\n%s", out)
	}
	w.requireRules(t, before)
}

// TestFakeTCPNeedsPrivileges runs both binaries with --tcp as an
// unprivileged user: each fails at start, exit code 1, saying what --tcp
// needs.
func TestFakeTCPNeedsPrivileges(t *testing.T) {
	netns.Require(t, "setpriv")
	bins := binaries(t)
	for _, role := range []struct{ name, addrFlag, addr string }{
		{"client", "-r", "127.0.0.1:9"},
		{"server", "-t", "127.0.0.1:9"},
	} {
		// A port that was free: were the check missing, the role would
		// start serving on it (and the timeout below would end it).
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		local := ln.Addr().String()
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			filepath.Join(bins, role.name), role.addrFlag, role.addr, "-l", local, "--key", testKey, "--tcp")
		out, err := cmd.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s as nobody with --tcp: %v, want exit code 1\n%s", role.name, err, out)
		}
		if want := transport.ErrFakeTCPPermission.Error(); !strings.Contains(string(out), want) {
			t.Errorf("%s as nobody with --tcp said:\n%s\nwant it to say %q", role.name, out, want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
