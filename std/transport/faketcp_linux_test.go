package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/netns"
)

func TestCheckFakeTCPSaysWhatIsMissing(t *testing.T) {
	const all = 1<<capNetRaw | 1<<capNetAdmin
	noIptables := errors.New(`exec: "iptables": executable file not found in $PATH`)
	for _, tc := range []struct {
		name     string
		caps     uint64
		iptables error
		want     error
		says     string
	}{
		{"root", ^uint64(0), nil, nil, ""},
		{"both capabilities", all, nil, nil, ""},
		{"no capabilities", 0, nil, ErrFakeTCPPermission, "missing CAP_NET_RAW and CAP_NET_ADMIN"},
		{"no CAP_NET_ADMIN", 1 << capNetRaw, nil, ErrFakeTCPPermission, "missing CAP_NET_ADMIN"},
		{"no CAP_NET_RAW", 1 << capNetAdmin, nil, ErrFakeTCPPermission, "missing CAP_NET_RAW"},
		{"no iptables", all, noIptables, ErrFakeTCPIptables, "executable file not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFakeTCP(
				func() (uint64, error) { return tc.caps, nil },
				func() error { return tc.iptables })
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), tc.want.Error()) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %q ... %q", err, tc.want, tc.says)
			}
		})
	}
}

func TestFakeTCPListenRefusesPortZero(t *testing.T) {
	f := newFakeTCP()
	defer f.Close()
	if _, err := f.Listen("127.0.0.1:0"); !errors.Is(err, errPortZero) {
		t.Fatalf("Listen on port 0: %v, want %v", err, errPortZero)
	}
}

func TestFakeTCPRefusesAfterClose(t *testing.T) {
	f := newFakeTCP()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := f.Dial(context.Background(), "127.0.0.1:9"); !errors.Is(err, ErrFakeTCPClosed) {
		t.Errorf("Dial after Close: %v, want %v", err, ErrFakeTCPClosed)
	}
	if _, err := f.Listen("127.0.0.1:9"); !errors.Is(err, ErrFakeTCPClosed) {
		t.Errorf("Listen after Close: %v, want %v", err, ErrFakeTCPClosed)
	}
}

// TestFakeTCPCloseRemovesRules runs in a namespace of its own: a fake-TCP
// listener and a dialled connection carry datagrams both ways, each
// installs its firewall rule, closing the connection removes its rule, and
// Close removes the rest and ends the listener's reads.
func TestFakeTCPCloseRemovesRules(t *testing.T) {
	if !netns.Inside() {
		netns.Require(t, "iptables", "iptables-save", "ip6tables-save")
		netns.RunInside(t, netns.New(t, "ftt"), t.Name())
		return
	}
	before := ttlRules(t)
	f, err := NewFakeTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	addr := freeTCPAddr(t)
	srv, err := f.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	withServer := ttlRules(t)
	if withServer <= before {
		t.Fatalf("listener installed no rule (%d TTL-1 rules, %d before)", withServer, before)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, raddr, err := f.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := raddr.(*net.TCPAddr); !ok {
		t.Errorf("remote address is %T; kcp-go needs the type tcpraw reports sources as, *net.TCPAddr", raddr)
	}
	withBoth := ttlRules(t)
	if withBoth <= withServer {
		t.Fatalf("dial installed no rule (%d TTL-1 rules, %d before)", withBoth, withServer)
	}

	from := roundTrip(t, cli, raddr, srv, []byte("ping"))
	roundTrip(t, srv, from, cli, []byte("pong"))

	if err := cli.Close(); err != nil {
		t.Fatalf("close the dialled conn: %v", err)
	}
	if got := ttlRules(t); got != withServer {
		t.Errorf("after closing the dialled conn: %d TTL-1 rules, want %d", got, withServer)
	}
	if n := f.openConns(); n != 1 {
		t.Errorf("FakeTCP tracks %d open conns after one of two closed, want 1", n)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := ttlRules(t); got != before {
		t.Errorf("after Close: %d TTL-1 rules, want %d as before", got, before)
	}
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := srv.ReadFrom(make([]byte, 64)); !errors.Is(err, io.EOF) {
		t.Errorf("listener read after Close: %v, want EOF (closed)", err)
	}
}

// roundTrip sends msg from a to b (at address to) and returns the sender's
// address as b saw it.
func roundTrip(t *testing.T, a net.PacketConn, to net.Addr, b net.PacketConn, msg []byte) net.Addr {
	t.Helper()
	if _, err := a.WriteTo(msg, to); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := b.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read %q: %v", msg, err)
	}
	if string(buf[:n]) != string(msg) {
		t.Fatalf("read %q, want %q", buf[:n], msg)
	}
	return from
}

// ttlRules counts the rules dropping TTL-1 (or hop-limit-1) segments,
// the kind tcpraw installs, in both firewalls of this namespace.
func ttlRules(t *testing.T) int {
	t.Helper()
	n := 0
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		n += strings.Count(string(out), "--ttl-eq 1") + strings.Count(string(out), "--hl-eq 1")
	}
	return n
}

// freeTCPAddr returns 127.0.0.1 with a TCP port that was just free (fake
// TCP cannot listen on port 0).
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
