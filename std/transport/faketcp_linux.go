//go:build linux

package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/coreos/go-iptables/iptables"
	"github.com/xtaci/tcpraw"
	"golang.org/x/sys/unix"
)

// The capabilities fake TCP needs: raw sockets, and iptables rules.
const (
	capNetAdmin = 12 // CAP_NET_ADMIN
	capNetRaw   = 13 // CAP_NET_RAW
)

// NewFakeTCP checks that this process can use fake TCP (the capabilities,
// and a working iptables command) so that --tcp fails at start, not at
// the first connection.
func NewFakeTCP() (*FakeTCP, error) {
	if err := checkFakeTCP(effectiveCaps, checkIptables); err != nil {
		return nil, err
	}
	return newFakeTCP(), nil
}

// checkFakeTCP turns what the system reports into the errors of --tcp.
func checkFakeTCP(caps func() (uint64, error), iptablesWorks func() error) error {
	have, err := caps()
	if err != nil {
		return fmt.Errorf("fake TCP: read capabilities: %w", err)
	}
	var missing []string
	if have&(1<<capNetRaw) == 0 {
		missing = append(missing, "CAP_NET_RAW")
	}
	if have&(1<<capNetAdmin) == 0 {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrFakeTCPPermission, strings.Join(missing, " and "))
	}
	if err := iptablesWorks(); err != nil {
		return fmt.Errorf("%w: %w", ErrFakeTCPIptables, err)
	}
	return nil
}

// effectiveCaps returns the effective capability set of this process.
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}

// checkIptables runs the iptables command tcpraw will run (found the same
// way) and lists the OUTPUT chain it adds its rules to.
func checkIptables() error {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return err
	}
	if _, err := ipt.List("filter", "OUTPUT"); err != nil {
		return err
	}
	return nil
}

// fakeConn is one tcpraw socket; closing it removes its firewall rules
// and forgets it in its FakeTCP. It keeps tcpraw's SetDSCP and socket
// buffer methods for TuneSocket.
type fakeConn struct {
	*tcpraw.TCPConn
	owner *FakeTCP
}

// tcprawWrite serializes the writes of every tcpraw socket in the
// process: tcpraw v1.2.31 stamps the TCP timestamp option of each segment
// into one package-level buffer that all its sockets share (its
// fingerPrintLinux), so two sockets writing at once (a client with
// --conn > 1, a server on a port range) race on it.
var tcprawWrite sync.Mutex

// WriteTo sends p to addr in one forged segment.
func (c *fakeConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	tcprawWrite.Lock()
	defer tcprawWrite.Unlock()
	return c.TCPConn.WriteTo(p, addr)
}

func (c *fakeConn) Close() error {
	c.owner.untrack(c)
	return c.TCPConn.Close()
}

// adopt tracks a new tcpraw socket, or closes it if f is closed.
func (f *FakeTCP) adopt(c *tcpraw.TCPConn) (net.PacketConn, error) {
	fc := &fakeConn{TCPConn: c, owner: f}
	if !f.track(fc) {
		c.Close()
		return nil, ErrFakeTCPClosed
	}
	return fc, nil
}

// Dial is a PacketDialer for --tcp: a fake-TCP connection to raddr (a
// real TCP handshake, then KCP packets in forged segments of it).
// tcpraw's dial cannot be cancelled; when ctx ends first, the dial goes
// on in the background and its socket is closed when it arrives.
func (f *FakeTCP) Dial(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error) {
	addr, err := resolveTCP(ctx, raddr)
	if err != nil {
		return nil, nil, err
	}
	if !f.startDial() {
		return nil, nil, ErrFakeTCPClosed
	}
	res := make(chan dialResult)
	abandon := make(chan struct{})
	go f.dial(addr, res, abandon)
	select {
	case r := <-res:
		if r.err != nil {
			return nil, nil, fmt.Errorf("fake TCP dial %s: %w", addr, r.err)
		}
		pc, err := f.adopt(r.conn)
		if err != nil {
			return nil, nil, err
		}
		// kcp-go drops packets whose source is not the session's remote:
		// tcpraw reports sources as *net.TCPAddr, so the remote is one too.
		return pc, addr, nil
	case <-ctx.Done():
		close(abandon)
		return nil, nil, fmt.Errorf("fake TCP dial %s: %w", addr, ctx.Err())
	case <-f.done:
		close(abandon)
		return nil, nil, ErrFakeTCPClosed
	}
}

type dialResult struct {
	conn *tcpraw.TCPConn
	err  error
}

// dial runs one tcpraw dial and hands the result over, or closes the
// socket if the caller gave up meanwhile.
func (f *FakeTCP) dial(addr *net.TCPAddr, res chan<- dialResult, abandon <-chan struct{}) {
	defer f.dials.Done()
	network := "tcp4"
	if addr.IP.To4() == nil {
		network = "tcp6"
	}
	c, err := tcpraw.Dial(network, addr.String())
	select {
	case res <- dialResult{c, err}:
	case <-abandon:
		if err == nil {
			c.Close()
		}
	}
}

// Listen serves fake TCP on addr (host:port, host may be empty): a real
// TCP listener whose connections carry forged segments, captured on every
// local address (or only on host's). The port must not be 0: tcpraw
// filters captured segments and writes its firewall rule by the port
// asked for, not the one bound.
func (f *FakeTCP) Listen(addr string) (net.PacketConn, error) {
	laddr, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake TCP listen %q: %w", addr, err)
	}
	if laddr.Port == 0 {
		return nil, fmt.Errorf("fake TCP listen %q: %w", addr, errPortZero)
	}
	if f.isClosed() {
		return nil, ErrFakeTCPClosed
	}
	c, err := tcpraw.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake TCP listen %s: %w", addr, err)
	}
	return f.adopt(c)
}

var errPortZero = errors.New("port 0 is not supported")

func (f *FakeTCP) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}
