package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/portrange"
	"github.com/kcptun-go/tunnel/std/stream"
	"github.com/kcptun-go/tunnel/std/transport"
)

// Server accepts KCP sessions and opens every stream to the target.
type Server struct {
	cfg    config.Server
	layers *layers
	log    *slog.Logger
	dialer net.Dialer
	fake   *transport.FakeTCP // the --tcp sockets; nil without --tcp

	mu       sync.Mutex
	draining bool                           // no new sessions or streams (Shutdown or Close)
	closed   bool                           // Close has torn everything down
	conns    map[net.PacketConn]struct{}    // sockets being served
	seals    map[string]*transport.SealConn // by local address, when the sessions run on SealConns (config.Common.SeesACKs)
	sessions map[*smux.Session]struct{}
	streams  sync.WaitGroup // copy loops in flight
	sessWG   sync.WaitGroup // session goroutines
	health   health         // mismatch hints (health.go)
}

// NewServer checks nothing that config.Validate checks; it builds the
// cipher, smux configuration and QPP pads once.
func NewServer(cfg *config.Server, log *slog.Logger) (*Server, error) {
	s := &Server{
		cfg:      *cfg,
		log:      log,
		conns:    make(map[net.PacketConn]struct{}),
		seals:    make(map[string]*transport.SealConn),
		sessions: make(map[*smux.Session]struct{}),
	}
	l, err := newLayers(&s.cfg.Common, log)
	if err != nil {
		return nil, err
	}
	s.layers = l
	if s.cfg.TCP {
		if s.fake, err = transport.NewFakeTCP(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ListenAndServe opens a UDP socket on every port of the configured
// listen range (with --tcp, a fake-TCP socket beside each) and serves
// them all until Close.
func (s *Server) ListenAndServe() error {
	r, err := portrange.Parse(s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var conns []net.PacketConn
	for _, addr := range r.Addrs() {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		conns = append(conns, pc)
		if s.fake != nil { // --tcp: fake TCP on the same port, beside UDP
			if pc, err = s.fake.Listen(addr); err != nil {
				for _, c := range conns {
					c.Close()
				}
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			conns = append(conns, pc)
		}
	}
	return s.ServeAll(conns)
}

// ServeAll serves every packet conn and returns when all have stopped.
// The server owns the conns and closes them.
func (s *Server) ServeAll(conns []net.PacketConn) error {
	errs := make(chan error, len(conns))
	for _, pc := range conns {
		go func() { errs <- s.Serve(pc) }()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && !errors.Is(err, ErrServerClosed) && first == nil {
			first = err
			s.Close()
		}
	}
	if first != nil {
		return first
	}
	return ErrServerClosed
}

// Serve accepts KCP sessions on pc until Close. The server owns pc.
func (s *Server) Serve(pc net.PacketConn) error {
	l, err := s.listen(pc)
	if err != nil {
		pc.Close()
		return err
	}
	s.log.Info("listening", "addr", pc.LocalAddr().String(), "target", s.cfg.Target)
	for {
		conn, err := l.AcceptKCP()
		if err != nil {
			pc.Close()
			drainAccepts(l)
			l.Close()
			s.mu.Lock()
			delete(s.conns, pc)
			s.mu.Unlock()
			if s.isClosed() {
				return ErrServerClosed
			}
			return fmt.Errorf("accept on %s: %w", pc.LocalAddr(), err)
		}
		if !s.startSession() {
			conn.Close()
			continue
		}
		go func() {
			defer s.sessWG.Done()
			s.serveSession(conn)
		}()
	}
}

// drainAccepts closes the sessions kcp-go queued but nobody accepted; the
// socket is closed, so no more arrive. Its Accept picks at random between
// a queued session and the read error, so a long run of errors means the
// queue is empty.
func drainAccepts(l *kcp.Listener) {
	for misses := 0; misses < 64; {
		conn, err := l.AcceptKCP()
		if err != nil {
			misses++
			continue
		}
		misses = 0
		conn.Close()
	}
}

func (s *Server) listen(pc net.PacketConn) (*kcp.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return nil, ErrServerClosed
	}
	l, sc, err := transport.Listen(pc, s.layers.block, s.layers.common, s.log)
	if err != nil {
		return nil, err
	}
	if sc != nil {
		s.seals[sc.LocalAddr().String()] = sc
	}
	s.conns[pc] = struct{}{}
	s.health.watchChecksums(s.log)
	s.health.watchLiveness(s.checkServerSessions)
	return l, nil
}

// parityPeer returns the parity state of conn's peer when the listener
// runs on a SealConn (--mode auto), or nil.
func (s *Server) parityPeer(conn *kcp.UDPSession) *transport.Peer {
	s.mu.Lock()
	sc := s.seals[conn.LocalAddr().String()]
	s.mu.Unlock()
	if sc == nil {
		return nil
	}
	return sc.Peer(conn.RemoteAddr())
}

func (s *Server) serveSession(conn *kcp.UDPSession) {
	transport.TuneSession(conn, s.layers.common)
	remote := conn.RemoteAddr().String()
	sess, err := s.layers.openSession(conn, false, s.parityPeer(conn))
	if err != nil {
		s.log.Warn("session setup failed", "remote", remote, "err", err)
		return
	}
	if !s.trackSession(sess) {
		s.layers.sessions.closeWith(sess, "server shutting down")
		return
	}
	s.log.Info("session opened", "remote", remote, "conv", conn.GetConv())
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
		sess.Close() // the session table logs "session closed" with the reason
	}()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			s.health.sessionFailed(s.log, remote, err)
			if r := acceptReason(err); r != "" {
				s.layers.sessions.setReason(sess, r)
			}
			return
		}
		s.mu.Lock()
		if s.draining {
			// Refuse the new stream only: the session may carry streams
			// in flight, which Shutdown lets finish.
			s.mu.Unlock()
			stream.Abort(st)
			continue
		}
		s.streams.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.streams.Done()
			s.serveStream(sess, st, remote)
		}()
	}
}

func (s *Server) trackSession(sess *smux.Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.sessions[sess] = struct{}{}
	return true
}

func (s *Server) serveStream(sess *smux.Session, st *smux.Stream, remote string) {
	local := s.layers.wrapStream(st)
	target, err := s.dialTarget()
	if err != nil {
		// Logged even with --quiet: the user must see a dead target.
		s.log.Error("cannot reach target", "target", s.cfg.Target, "remote", remote, "stream", st.ID(), "err", err)
		stream.Abort(local) // the client stops sending too
		return
	}
	s.layers.pipe(target, local, sess, st, "remote", remote, "stream", st.ID(), "target", target.RemoteAddr().String())
}

// dialTarget opens the target: host:port over TCP, anything else as a
// unix socket path (kcptun's rule).
func (s *Server) dialTarget() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.dialer.DialContext(ctx, targetNetwork(s.cfg.Target), s.cfg.Target)
}

func targetNetwork(target string) string {
	if _, port, err := net.SplitHostPort(target); err == nil {
		if _, err := strconv.Atoi(port); err == nil {
			return "tcp"
		}
	}
	return "unix"
}

// startSession counts a session goroutine in, unless draining.
func (s *Server) startSession() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.sessWG.Add(1)
	return true
}

// Sessions returns the number of KCP sessions being served.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// Close closes every session and socket at once. It is
// idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed, s.draining = true, true
	pcs := make([]net.PacketConn, 0, len(s.conns))
	for pc := range s.conns {
		pcs = append(pcs, pc)
	}
	ss := make([]*smux.Session, 0, len(s.sessions))
	for sess := range s.sessions {
		ss = append(ss, sess)
	}
	s.mu.Unlock()
	s.layers.sessions.closeAll("server closed")
	for _, sess := range ss {
		sess.Close()
	}
	// Closing the sockets ends the accept loops, which drain and close
	// their listeners.
	for _, pc := range pcs {
		pc.Close()
	}
	s.sessWG.Wait()
	s.streams.Wait()
	s.health.stop()
	if s.fake != nil {
		s.fake.Close() // removes the firewall rules of sockets still open
	}
	return nil
}

// Shutdown refuses new sessions and streams, waits until the open
// streams finish or ctx ends, then closes everything. The listeners keep
// running meanwhile: they carry the packets of the sessions in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	err := waitGroupCtx(ctx, &s.streams)
	if err == nil {
		s.layers.waitDelivered(ctx) // the streams' last bytes (drain.go)
	}
	s.Close()
	return err
}

// waitGroupCtx waits for wg or ctx, whichever comes first.
func waitGroupCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
