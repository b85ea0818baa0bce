package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The errors of --tcp. Each is the start of the message the user sees.
var (
	// ErrFakeTCPUnsupported: fake TCP exists only on Linux.
	ErrFakeTCPUnsupported = errors.New("--tcp is only supported on Linux")
	// ErrFakeTCPPermission: the process lacks the capabilities fake TCP needs.
	ErrFakeTCPPermission = errors.New("--tcp needs root or CAP_NET_RAW and CAP_NET_ADMIN (fake TCP uses raw sockets and iptables)")
	// ErrFakeTCPIptables: the iptables command is missing or does not work.
	ErrFakeTCPIptables = errors.New("--tcp needs a working iptables command (fake TCP installs firewall rules)")
	// ErrFakeTCPClosed: the FakeTCP was closed.
	ErrFakeTCPClosed = errors.New("fake TCP: closed")
)

// fakeDialWait bounds how long Close waits for dials still in flight, so
// that one finishing during shutdown closes its socket (and removes its
// firewall rule) before the process exits. A dial stuck waiting for an
// unreachable server has installed no rule yet.
const fakeDialWait = 2 * time.Second

// FakeTCP makes the sockets of --tcp (github.com/xtaci/tcpraw): KCP
// packets inside forged TCP segments, sent and captured with raw sockets.
// Each socket installs an iptables rule in the OUTPUT chain that drops
// the kernel's own segments of the connection it rides on, and removes it
// when closed. FakeTCP owns every socket it made: Close closes those still
// open, so no rule outlives the process on any exit path that runs Close.
type FakeTCP struct {
	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close: dials in flight give up
	conns  map[io.Closer]struct{}
	dials  sync.WaitGroup // dial goroutines in flight
}

func newFakeTCP() *FakeTCP {
	return &FakeTCP{done: make(chan struct{}), conns: make(map[io.Closer]struct{})}
}

// Close closes every socket still open (removing its firewall rules),
// refuses new ones, and waits briefly for dials in flight. It is
// idempotent.
func (f *FakeTCP) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	open := make([]io.Closer, 0, len(f.conns))
	for c := range f.conns {
		open = append(open, c)
	}
	f.mu.Unlock()
	var errs []error
	for _, c := range open {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	waitTimeout(&f.dials, fakeDialWait)
	return errors.Join(errs...)
}

// track records an open socket; false once closed.
func (f *FakeTCP) track(c io.Closer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *FakeTCP) untrack(c io.Closer) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// startDial counts a dial in; false once closed.
func (f *FakeTCP) startDial() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.dials.Add(1)
	return true
}

// openConns is the number of sockets made and not yet closed.
func (f *FakeTCP) openConns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// resolveTCP resolves raddr (host:port) to one TCP address, preferring
// the first address the resolver returns, as DialUDP does.
func resolveTCP(ctx context.Context, raddr string) (*net.TCPAddr, error) {
	host, port, err := net.SplitHostPort(raddr)
	if err != nil {
		return nil, fmt.Errorf("remote address %q: %w", raddr, err)
	}
	var r net.Resolver
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %q: %w", host, err)
	}
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(ips[0].Unmap().String(), port))
	if err != nil {
		return nil, fmt.Errorf("remote address %q: %w", raddr, err)
	}
	return addr, nil
}
