package bench

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/kcptun-go/tunnel/std/netem"
)

// relayBuffer is the receive and send buffer of the relay's sockets: a
// tunnel server flushes hundreds of datagrams at once (its whole window),
// and a default-sized buffer (about 90 datagrams) would drop most of such
// a burst on the host, before the emulated link sees it.
const relayBuffer = 4 << 20

// relay forwards UDP datagrams between tunnel clients and one server
// through an emulated link per direction (up: client → server), with one
// upstream socket per client source address, as netem.Relay does; it
// differs in sizing every socket's buffers (see relayBuffer) and in
// counting the datagrams the host still dropped (hostDrops).
type relay struct {
	listen   *net.UDPConn
	upstream *net.UDPAddr
	up, down *netem.Link

	mu       sync.Mutex
	sessions map[netip.AddrPort]*relaySession
	closed   bool
	readers  sync.WaitGroup
	served   chan struct{}
}

// relaySession is one client source address and its upstream socket; it
// is the net.Addr the up link carries to its delivery.
type relaySession struct {
	client netip.AddrPort
	conn   *net.UDPConn
}

func (s *relaySession) Network() string { return "udp" }
func (s *relaySession) String() string  { return s.client.String() }

// newRelay listens on 127.0.0.1:0 and relays to upstream over spec both
// ways; call serve to run it.
func newRelay(upstream *net.UDPAddr, spec netem.Spec, seed uint64) (*relay, error) {
	listen, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("bench: relay socket: %w", err)
	}
	sizeBuffers(listen)
	r := &relay{listen: listen, upstream: upstream, sessions: map[netip.AddrPort]*relaySession{}, served: make(chan struct{})}
	r.up, err = netem.NewLink(spec, func(b []byte, a net.Addr) {
		_, _ = a.(*relaySession).conn.Write(b)
	}, netem.WithSeed(seed))
	if err != nil {
		listen.Close()
		return nil, err
	}
	r.down, err = netem.NewLink(spec, func(b []byte, a net.Addr) {
		_, _ = r.listen.WriteToUDPAddrPort(b, a.(*relaySession).client)
	}, netem.WithSeed(seed^0x9e3779b97f4a7c15))
	if err != nil {
		r.up.Close()
		listen.Close()
		return nil, err
	}
	return r, nil
}

func sizeBuffers(c *net.UDPConn) {
	// Best effort: the kernel caps both at net.core.[rw]mem_max.
	_ = c.SetReadBuffer(relayBuffer)
	_ = c.SetWriteBuffer(relayBuffer)
}

func (r *relay) addr() net.Addr { return r.listen.LocalAddr() }

// serve forwards client datagrams until close.
func (r *relay) serve() {
	defer close(r.served)
	buf := make([]byte, 65536)
	for {
		n, from, err := r.listen.ReadFromUDPAddrPort(buf)
		if err != nil {
			if r.isClosed() {
				return
			}
			continue // e.g. ECONNREFUSED reported for an earlier send
		}
		s, err := r.session(from)
		if err != nil {
			continue
		}
		r.up.Send(buf[:n], s)
	}
}

func (r *relay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *relay) session(client netip.AddrPort) (*relaySession, error) {
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[client]; ok {
		return s, nil
	}
	if r.closed {
		return nil, net.ErrClosed
	}
	conn, err := net.DialUDP("udp", nil, r.upstream)
	if err != nil {
		return nil, fmt.Errorf("bench: relay upstream socket: %w", err)
	}
	sizeBuffers(conn)
	s := &relaySession{client: client, conn: conn}
	r.sessions[client] = s
	r.readers.Add(1)
	go r.readReplies(s)
	return s, nil
}

// readReplies feeds what the server sends to one session into the down
// link.
func (r *relay) readReplies(s *relaySession) {
	defer r.readers.Done()
	buf := make([]byte, 65536)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if r.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED: the server is not listening yet
		}
		r.down.Send(buf[:n], s)
	}
}

func (r *relay) stats() netem.Stats {
	return netem.Stats{Up: r.up.Stats(), Down: r.down.Stats()}
}

// hostDrops is how many datagrams the relay's sockets dropped because
// their receive buffers were full, or false where that is not known.
func (r *relay) hostDrops() (uint64, bool) {
	r.mu.Lock()
	conns := []*net.UDPConn{r.listen}
	for _, s := range r.sessions {
		conns = append(conns, s.conn)
	}
	r.mu.Unlock()
	var total uint64
	for _, c := range conns {
		n, ok := udpDrops(c)
		if !ok {
			return 0, false
		}
		total += n
	}
	return total, true
}

func (r *relay) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.listen.Close()
	for _, s := range r.sessions {
		s.conn.Close()
	}
	r.mu.Unlock()
	<-r.served
	r.readers.Wait()
	r.up.Close()
	r.down.Close()
}
