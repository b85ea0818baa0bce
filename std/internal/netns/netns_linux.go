package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Require skips t unless it runs as root and every command in tools (and
// ip) is installed.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, raw sockets and iptables rules (CI runs as root)")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs the %s command (apt-get install iproute2 iptables tcpdump; .ci/run installs them)", tool)
		}
	}
}

// NS is one network namespace.
type NS struct {
	Name string
}

// New creates a namespace named prefix-<random> with its loopback up;
// t.Cleanup deletes it.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	ns := &NS{Name: prefix + "-" + randomSuffix()}
	run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("delete namespace %s: %v: %s", ns.Name, err, out)
		}
	})
	run(t, "ip", "-n", ns.Name, "link", "set", "lo", "up")
	return ns
}

func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Link joins a and b with a veth pair, gives each end its address (CIDR,
// e.g. 198.18.0.1/30) and brings both up. It returns the names of the
// ends in a and in b. The pair goes away with either namespace.
func Link(t testing.TB, a, b *NS, aCIDR, bCIDR string) (aIf, bIf string) {
	t.Helper()
	sfx := randomSuffix()
	aIf, bIf = "va"+sfx, "vb"+sfx // at most 15 characters
	run(t, "ip", "link", "add", aIf, "netns", a.Name, "type", "veth", "peer", "name", bIf, "netns", b.Name)
	run(t, "ip", "-n", a.Name, "addr", "add", aCIDR, "dev", aIf)
	run(t, "ip", "-n", b.Name, "addr", "add", bCIDR, "dev", bIf)
	run(t, "ip", "-n", a.Name, "link", "set", aIf, "up")
	run(t, "ip", "-n", b.Name, "link", "set", bIf, "up")
	return aIf, bIf
}

// Command returns name args... to be run inside ns.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs name args... inside ns and returns its output; it fails t if
// the command fails.
func (ns *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Do runs f on an OS thread that has entered ns, so the sockets f makes
// belong to ns (and keep working from any goroutine afterwards). The
// thread is never handed back to the runtime: it ends with the goroutine.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		fd, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns.Name, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen listens on addr inside ns; t.Cleanup closes the listener.
func (ns *NS) Listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Dial opens a TCP connection from inside ns.
func (ns *NS) Dial(addr string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = net.Dial("tcp", addr)
		return err
	})
	return c, err
}

// FreePort returns a TCP port that is free on host inside ns (the
// namespace is the test's own, so nobody else takes it meanwhile).
func (ns *NS) FreePort(t testing.TB, host string) int {
	t.Helper()
	var port int
	err := ns.Do(func() error {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return err
		}
		port = ln.Addr().(*net.TCPAddr).Port
		return ln.Close()
	})
	if err != nil {
		t.Fatalf("free port in %s: %v", ns.Name, err)
	}
	return port
}

// FirewallRules returns the rules of iptables-save and ip6tables-save in
// ns, each prefixed with "ipv4 " or "ipv6 ", leaving out those containing
// any of skip. Only rule lines count: a table that appears empty after a
// rule was added and deleted again does not.
func (ns *NS) FirewallRules(t testing.TB, skip ...string) []string {
	t.Helper()
	var rules []string
	for _, v := range []struct{ family, cmd string }{{"ipv4", "iptables-save"}, {"ipv6", "ip6tables-save"}} {
		for _, line := range strings.Split(ns.Run(t, v.cmd), "\n") {
			if !strings.HasPrefix(line, "-") || containsAny(line, skip) {
				continue
			}
			rules = append(rules, v.family+" "+line)
		}
	}
	return rules
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
