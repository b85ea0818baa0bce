package netem

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// ErrRelayClosed is returned by Relay.Serve after Close.
var ErrRelayClosed = errors.New("netem: relay closed")

// Relay forwards UDP datagrams between clients and one upstream server
// through an emulated link per direction, for client and server processes
// that only know addresses: the client sends to the relay's address, the
// relay sends on to upstream from a socket of its own per client source
// address (so each client session keeps its own source port, as through a
// NAT), and replies come back to that client. The two links are shared by
// all clients, like one bottleneck path.
type Relay struct {
	listen   net.PacketConn
	upstream *net.UDPAddr
	up       *Link // client → server
	down     *Link // server → client

	mu       sync.Mutex
	sessions map[netip.AddrPort]*relaySession
	closed   chan struct{}
	readers  sync.WaitGroup

	closeOnce sync.Once
}

// relaySession is one client source address and its upstream socket.
type relaySession struct {
	client net.Addr
	conn   *net.UDPConn // connected to upstream
}

// NewRelay returns a relay reading clients on listen (which it owns: Close
// closes it) and forwarding to upstream, impairing client→server datagrams
// with up and server→client ones with down. Call Serve to run it.
// Options: WithSeed.
func NewRelay(listen net.PacketConn, upstream *net.UDPAddr, up, down Spec, opts ...Option) (*Relay, error) {
	if err := errors.Join(up.Validate(), down.Validate()); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	r := &Relay{
		listen:   listen,
		upstream: upstream,
		sessions: make(map[netip.AddrPort]*relaySession),
		closed:   make(chan struct{}),
	}
	r.up = newLink(up, o, streamAB, r.deliverUp)
	r.down = newLink(down, o, streamBA, r.deliverDown)
	return r, nil
}

// Addr is the address clients send to.
func (r *Relay) Addr() net.Addr { return r.listen.LocalAddr() }

// Serve forwards client datagrams until Close (then it returns
// ErrRelayClosed) or until reading the listen socket or opening an
// upstream socket fails.
func (r *Relay) Serve() error {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.listen.ReadFrom(buf)
		if err != nil {
			if isClosedChan(r.closed) {
				return ErrRelayClosed
			}
			return fmt.Errorf("netem: relay read: %w", err)
		}
		s, err := r.session(from)
		if err != nil {
			if isClosedChan(r.closed) {
				return ErrRelayClosed
			}
			return err
		}
		r.up.send(buf[:n], nil, s)
	}
}

// session returns the client's session, opening its upstream socket on
// first contact.
func (r *Relay) session(client net.Addr) (*relaySession, error) {
	key := addrKey(client)
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[key]; ok {
		return s, nil
	}
	if isClosedChan(r.closed) {
		return nil, ErrRelayClosed
	}
	conn, err := net.DialUDP("udp", nil, r.upstream)
	if err != nil {
		return nil, fmt.Errorf("netem: relay upstream socket for %v: %w", client, err)
	}
	s := &relaySession{client: client, conn: conn}
	r.sessions[key] = s
	r.readers.Add(1)
	go r.readReplies(s)
	return s, nil
}

func addrKey(a net.Addr) netip.AddrPort {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// readReplies feeds what upstream sends to the session into the down link.
func (r *Relay) readReplies(s *relaySession) {
	defer r.readers.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := s.conn.Read(buf)
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue // upstream not listening (yet): keep the session
		}
		if err != nil {
			return
		}
		r.down.send(buf[:n], s.client, nil)
	}
}

func (r *Relay) deliverUp(p *packet) bool {
	_, err := p.tag.(*relaySession).conn.Write(p.b)
	freePacket(p)
	return err == nil
}

func (r *Relay) deliverDown(p *packet) bool {
	_, err := r.listen.WriteTo(p.b, p.addr)
	freePacket(p)
	return err == nil
}

// Sessions is the number of client source addresses seen.
func (r *Relay) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Stats returns the counters and lateness of both directions: Up is
// client → server, Down server → client.
func (r *Relay) Stats() Stats {
	return Stats{Up: r.up.Stats(), Down: r.down.Stats()}
}

// Close stops the relay: Serve returns ErrRelayClosed, packets in flight
// are discarded, and the listen and upstream sockets are closed. It is
// idempotent and returns the listen socket's Close error.
func (r *Relay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.mu.Lock()
		close(r.closed)
		r.mu.Unlock()
		err = r.listen.Close()
		r.up.Close()
		r.down.Close()
		r.mu.Lock()
		for _, s := range r.sessions {
			s.conn.Close()
		}
		r.mu.Unlock()
		r.readers.Wait()
	})
	return err
}
