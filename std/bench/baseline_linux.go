package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/kcptun-go/tunnel/std/netem"
	"golang.org/x/sys/unix"
)

// The baseline's two namespaces are joined by a point-to-point TUN link
// that exists only inside them: the target side (A, the server end) and
// the downloader side (B, the client end).
const (
	tunName  = "kbtun0"
	addrA    = "10.77.0.1"
	addrB    = "10.77.0.2"
	tunMTU   = "1500"
	ccSysctl = "/proc/sys/net/ipv4/tcp_available_congestion_control"
)

// tcpBaseline is kernel TCP between two network namespaces whose TUN
// devices a user-space forwarder joins through netem links, so TCP
// crosses exactly the emulated path the tunnels cross.
type tcpBaseline struct {
	ccs        []string
	notes      []string
	a, b       *netns
	tunA, tunB *os.File
	links      atomic.Pointer[linkPair] // the current session's links; nil drops packets
	fwd        sync.WaitGroup
}

type linkPair struct{ up, down *netem.Link } // up: B → A (client → server), down: A → B

// newTCPBaseline sets up the namespaces and TUN devices for the
// congestion controls ccs the kernel offers; it fails with ErrUnavailable
// when not root, without /dev/net/tun or ip, or when none of ccs exists.
func newTCPBaseline(ccs []string) (*tcpBaseline, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: needs root (network namespaces, TUN devices)", ErrUnavailable)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	avail, err := os.ReadFile(ccSysctl)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	bl := &tcpBaseline{}
	have := strings.Fields(string(avail))
	for _, cc := range ccs {
		if slices.Contains(have, cc) {
			bl.ccs = append(bl.ccs, cc)
			continue
		}
		// A congestion control built as a module appears once loaded.
		_ = exec.Command("modprobe", "tcp_"+cc).Run()
		if avail, err := os.ReadFile(ccSysctl); err == nil && slices.Contains(strings.Fields(string(avail)), cc) {
			bl.ccs = append(bl.ccs, cc)
			continue
		}
		bl.notes = append(bl.notes, fmt.Sprintf("kernel TCP %s unavailable (the kernel offers %s)", cc, strings.Join(have, ", ")))
	}
	if len(bl.ccs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(bl.notes, "; "))
	}
	if err := bl.setup(); err != nil {
		bl.close()
		return nil, err
	}
	return bl, nil
}

func (bl *tcpBaseline) setup() error {
	var err error
	tag := fmt.Sprintf("kbench%d", os.Getpid())
	if bl.a, err = addNetns(tag + "a"); err != nil {
		return err
	}
	if bl.b, err = addNetns(tag + "b"); err != nil {
		return err
	}
	if bl.tunA, err = bl.a.openTUN(tunName); err != nil {
		return err
	}
	if bl.tunB, err = bl.b.openTUN(tunName); err != nil {
		return err
	}
	for _, side := range []struct {
		ns          *netns
		local, peer string
	}{{bl.a, addrA, addrB}, {bl.b, addrB, addrA}} {
		for _, args := range [][]string{
			{"link", "set", "lo", "up"},
			{"addr", "add", side.local + "/32", "peer", side.peer + "/32", "dev", tunName},
			// A long queue from the kernel to the forwarder: a TCP burst must
			// meet the emulator's queue, not the device's (500 by default).
			{"link", "set", tunName, "mtu", tunMTU, "txqueuelen", "10000", "up"},
		} {
			if err := side.ns.ip(args...); err != nil {
				return err
			}
		}
	}
	bl.fwd.Add(2)
	go bl.forward(bl.tunA, func(p *linkPair) *netem.Link { return p.down })
	go bl.forward(bl.tunB, func(p *linkPair) *netem.Link { return p.up })
	return nil
}

// forward feeds every packet read from tun into the current link of its
// direction, until tun is closed.
func (bl *tcpBaseline) forward(tun *os.File, pick func(*linkPair) *netem.Link) {
	defer bl.fwd.Done()
	buf := make([]byte, 65536)
	for {
		n, err := tun.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			continue // e.g. EIO before the device is up
		}
		if lp := bl.links.Load(); lp != nil {
			pick(lp).Send(buf[:n], nil)
		}
	}
}

// close removes the devices and namespaces.
func (bl *tcpBaseline) close() {
	bl.links.Store(nil)
	for _, f := range []*os.File{bl.tunA, bl.tunB} {
		if f != nil {
			f.Close()
		}
	}
	bl.fwd.Wait()
	for _, ns := range []*netns{bl.a, bl.b} {
		if ns != nil {
			_ = ns.del()
		}
	}
}

func (bl *tcpBaseline) subjects() []subject {
	var out []subject
	for _, cc := range bl.ccs {
		out = append(out, &tcpSubject{bl: bl, cc: cc})
	}
	return out
}

// tcpSubject is kernel TCP with one congestion control.
type tcpSubject struct {
	bl *tcpBaseline
	cc string
}

func (s *tcpSubject) name() string { return "tcp-" + s.cc }

func (s *tcpSubject) start(ctx context.Context, link netem.Spec, seed uint64) (*session, error) {
	bl := s.bl
	lp := &linkPair{}
	var err error
	if lp.up, err = netem.NewLink(link, func(b []byte, _ net.Addr) { _, _ = bl.tunA.Write(b) }, netem.WithSeed(seed)); err != nil {
		return nil, err
	}
	if lp.down, err = netem.NewLink(link, func(b []byte, _ net.Addr) { _, _ = bl.tunB.Write(b) }, netem.WithSeed(seed+1)); err != nil {
		lp.up.Close()
		return nil, err
	}
	var ln net.Listener
	err = bl.a.do(func() error {
		lc := net.ListenConfig{Control: setCC(s.cc)}
		var err error
		ln, err = lc.Listen(ctx, "tcp4", net.JoinHostPort(addrA, "0"))
		return err
	})
	if err != nil {
		lp.up.Close()
		lp.down.Close()
		return nil, fmt.Errorf("bench: baseline target in %s: %w", bl.a.name, err)
	}
	drops0, dropsErr := bl.tunDrops()
	bl.links.Store(lp)
	target := NewTarget(ln)
	served := make(chan error, 1)
	go func() { served <- target.Serve() }()
	addr := ln.Addr().String()
	dial := func(ctx context.Context) (net.Conn, error) {
		var c net.Conn
		err := bl.b.do(func() error {
			d := net.Dialer{Control: setCC(s.cc)}
			var err error
			c, err = d.DialContext(ctx, "tcp4", addr)
			return err
		})
		return c, err
	}
	return &session{
		dial: dial,
		linkStats: func() netem.Stats {
			return netem.Stats{Up: lp.up.Stats(), Down: lp.down.Stats()}
		},
		hostDrops: func() (uint64, bool) {
			n, err := bl.tunDrops()
			return n - drops0, err == nil && dropsErr == nil
		},
		alive: func() error { return target.SinkErrors() },
		close: func() {
			target.Close()
			<-served
			bl.links.CompareAndSwap(lp, nil)
			lp.up.Close()
			lp.down.Close()
		},
	}, nil
}

// tunDrops is how many packets both TUN devices dropped so far (their
// queues toward the forwarder overflowed), from `ip -s -j link`.
func (bl *tcpBaseline) tunDrops() (uint64, error) {
	var total uint64
	for _, ns := range []*netns{bl.a, bl.b} {
		out, err := exec.Command("ip", "-n", ns.name, "-s", "-j", "link", "show", "dev", tunName).Output()
		if err != nil {
			return 0, fmt.Errorf("bench: ip -s link in %s: %w", ns.name, err)
		}
		var links []struct {
			Stats64 struct {
				TX struct {
					Dropped uint64 `json:"dropped"`
				} `json:"tx"`
			} `json:"stats64"`
		}
		if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
			return 0, fmt.Errorf("bench: ip -s -j link output %q: %w", out, err)
		}
		total += links[0].Stats64.TX.Dropped
	}
	return total, nil
}

// setCC sets TCP_CONGESTION on a socket before it connects or listens
// (accepted sockets inherit a listener's choice).
func setCC(cc string) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("bench: TCP_CONGESTION %s: %w", cc, serr)
		}
		return nil
	}
}
