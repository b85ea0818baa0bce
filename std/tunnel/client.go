package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/xtaci/smux"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/portrange"
	"github.com/kcptun-go/tunnel/std/transport"
)

// sessionWait bounds how long one local connection waits for a KCP
// session to be made before it is given up.
const sessionWait = 15 * time.Second

// Client carries local connections as smux streams over --conn KCP
// sessions to the server.
type Client struct {
	cfg    config.Client
	layers *layers
	log    *slog.Logger
	remote portrange.Range
	dial   transport.PacketDialer
	fake   *transport.FakeTCP // the --tcp sockets; nil without --tcp

	slots []*slot
	loads []*slotLoad // each slot's, for pickSlot
	pick  sync.Mutex  // one pickSlot at a time, so that two at once see each other
	picks uint64      // pickSlot calls so far; under pick
	scav  *scavenger

	mu        sync.Mutex
	closed    bool
	draining  bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{} // local connections being served
	streams   sync.WaitGroup
	done      chan struct{}
	health    health // mismatch hints (health.go)

	now func() time.Time // the clock for --autoexpire; tests replace it
}

// ClientOption changes how a Client is made.
type ClientOption func(*Client)

// WithPacketDialer replaces the UDP socket of each new session, e.g. with
// fake TCP or an emulated link.
func WithPacketDialer(d transport.PacketDialer) ClientOption {
	return func(c *Client) { c.dial = d }
}

// withClock replaces the clock that --autoexpire reads (for tests).
func withClock(now func() time.Time) ClientOption {
	return func(c *Client) { c.now = now }
}

// NewClient builds the cipher, smux configuration and QPP pads once.
func NewClient(cfg *config.Client, log *slog.Logger, opts ...ClientOption) (*Client, error) {
	r, err := portrange.Parse(cfg.RemoteAddr)
	if err != nil {
		return nil, fmt.Errorf("remoteaddr: %w", err)
	}
	c := &Client{
		cfg:       *cfg,
		log:       log,
		remote:    r,
		dial:      transport.DialUDP,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
		done:      make(chan struct{}),
		now:       time.Now,
	}
	l, err := newLayers(&c.cfg.Common, log)
	if err != nil {
		return nil, err
	}
	c.layers = l
	if c.cfg.TCP { // --tcp: the one place the client picks fake TCP
		if c.fake, err = transport.NewFakeTCP(); err != nil {
			return nil, err
		}
		c.dial = c.fake.Dial
	}
	for _, o := range opts {
		o(c)
	}
	c.slots = make([]*slot, max(c.cfg.Conn, 1))
	c.loads = make([]*slotLoad, len(c.slots))
	for i := range c.slots {
		c.slots[i] = &slot{}
		c.loads[i] = &c.slots[i].load
	}
	c.scav = newScavenger(log, c.done, c.layers.sessions.closeWith)
	return c, nil
}

// ListenAndServe listens on the local address (TCP host:port, or a unix
// socket path) and serves it until Close.
func (c *Client) ListenAndServe() error {
	network := targetNetwork(c.cfg.LocalAddr)
	ln, err := net.Listen(network, c.cfg.LocalAddr)
	if err != nil {
		return fmt.Errorf("localaddr: %w", err)
	}
	return c.Serve(ln)
}

// Serve accepts local connections on ln until Close; it never blocks on
// session setup, which happens per connection. The client owns ln.
func (c *Client) Serve(ln net.Listener) error {
	if !c.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer c.untrack(ln)
	c.scav.start()
	c.health.watchLiveness(c.checkClientSessions)
	c.log.Info("listening", "addr", ln.Addr().String(), "remote", c.cfg.RemoteAddr)
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if c.isDraining() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = nextBackoff(backoff)
				c.log.Warn("accept failed, backing off", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-c.done:
					return ErrServerClosed
				}
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		if !c.trackConn(conn) {
			conn.Close()
			continue
		}
		go c.handle(conn)
	}
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, time.Second)
}

func (c *Client) track(ln net.Listener) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.listeners[ln] = struct{}{}
	return true
}

func (c *Client) untrack(ln net.Listener) {
	c.mu.Lock()
	delete(c.listeners, ln)
	c.mu.Unlock()
	ln.Close()
}

func (c *Client) trackConn(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	c.conns[conn] = struct{}{}
	c.streams.Add(1)
	return true
}

func (c *Client) untrackConn(conn net.Conn) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
	c.streams.Done()
}

// handle carries one local connection: it picks the least busy session
// (pickSlot), opens a stream and copies until both directions end.
func (c *Client) handle(local net.Conn) {
	defer c.untrackConn(local)
	c.pick.Lock()
	c.picks++
	idx := pickSlot(c.loads, time.Now(), c.picks)
	c.pick.Unlock()
	defer c.loads[idx].leave()
	ctx, cancel := context.WithTimeout(context.Background(), sessionWait)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		sess, err := c.session(ctx, idx)
		if err != nil {
			lastErr = err
			break
		}
		st, err := sess.OpenStream()
		if err != nil {
			lastErr = err
			c.layers.sessions.setReason(sess, "cannot open stream: "+err.Error())
			c.slots[idx].discard(sess)
			continue
		}
		cancel()
		tunneled := trackWrites(c.layers.wrapStream(st), c.health.activityOf(sess, time.Now()))
		c.layers.pipe(local, tunneled, sess, st,
			"local", local.RemoteAddr().String(), "stream", st.ID(), "remote", st.RemoteAddr().String())
		return
	}
	c.log.Error("cannot open stream", "local", local.RemoteAddr().String(), "remote", c.cfg.RemoteAddr, "err", lastErr)
	local.Close()
}

// session returns the live session of slot idx, making one if there is
// none or the old one has expired.
func (c *Client) session(ctx context.Context, idx int) (*smux.Session, error) {
	sl := c.slots[idx]
	sl.mu.Lock()
	defer sl.mu.Unlock()
	now := c.now()
	if sl.sess != nil && !sl.sess.IsClosed() && c.answering(sl.sess, time.Now()) {
		if sl.expires.IsZero() || now.Before(sl.expires) {
			return sl.sess, nil
		}
		c.log.Info("session expired", "remote", sl.sess.RemoteAddr().String())
		c.scav.add(sl.sess, sl.expires.Add(time.Duration(c.cfg.ScavengeTTL)*time.Second))
	}
	sl.sess = nil
	var backoff time.Duration
	for {
		sess, err := c.newSession(ctx)
		if err == nil {
			sl.sess = sess
			sl.load.setSource(c.layers.sessions.counts(sess))
			sl.expires = time.Time{}
			if c.cfg.AutoExpire > 0 {
				sl.expires = now.Add(time.Duration(c.cfg.AutoExpire) * time.Second)
			}
			return sess, nil
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 2*time.Second)
		c.log.Warn("cannot make session, retrying", "remote", c.cfg.RemoteAddr, "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, fmt.Errorf("no session to %s: %w", c.cfg.RemoteAddr, errors.Join(err, ctx.Err()))
		}
	}
}

// newSession dials one KCP session (to a random port of the remote range)
// and puts smux on it.
func (c *Client) newSession(ctx context.Context) (*smux.Session, error) {
	raddr := c.remote.Pick(rand.IntN)
	conn, err := transport.Dial(ctx, c.dial, raddr, c.layers.block, c.layers.common, c.log)
	if err != nil {
		return nil, err
	}
	sess, err := c.layers.openSession(conn, true, transport.PeerOf(conn))
	if err != nil {
		return nil, err
	}
	c.log.Info("session opened", "remote", raddr, "local", conn.LocalAddr().String(), "conv", conn.GetConv())
	c.health.watchSession(c.log, sess, raddr)
	return sess, nil
}

func (c *Client) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// Close stops listening and closes every session and local connection.
// It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed, c.draining = true, true
	close(c.done)
	var closers []interface{ Close() error }
	for ln := range c.listeners {
		closers = append(closers, ln)
	}
	for conn := range c.conns {
		closers = append(closers, conn)
	}
	c.mu.Unlock()
	for _, cl := range closers {
		cl.Close()
	}
	c.layers.sessions.closeAll("client closed")
	for _, sl := range c.slots {
		sl.close()
	}
	c.health.stop()
	c.scav.wait()
	c.streams.Wait()
	if c.fake != nil {
		c.fake.Close() // removes the firewall rules of sockets still open
	}
	return nil
}

// Shutdown stops accepting local connections, waits until the open ones
// finish or ctx ends, then closes everything.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.draining = true
	var lns []net.Listener
	for ln := range c.listeners {
		lns = append(lns, ln)
	}
	c.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	err := waitGroupCtx(ctx, &c.streams)
	if err == nil {
		c.layers.waitDelivered(ctx) // the streams' last bytes (drain.go)
	}
	c.Close()
	return err
}

// slot is one of the --conn sessions.
type slot struct {
	mu      sync.Mutex
	sess    *smux.Session
	expires time.Time // zero: never
	load    slotLoad
}

// discard drops sess from the slot if it is still the slot's session.
func (s *slot) discard(sess *smux.Session) {
	s.mu.Lock()
	if s.sess == sess {
		s.sess = nil
	}
	s.mu.Unlock()
	sess.Close()
}

func (s *slot) close() {
	s.mu.Lock()
	sess := s.sess
	s.sess = nil
	s.mu.Unlock()
	if sess != nil {
		sess.Close()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
