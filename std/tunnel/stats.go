package tunnel

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"

	"github.com/kcptun-go/tunnel/std/obs"
	"github.com/kcptun-go/tunnel/std/stream"
	"github.com/kcptun-go/tunnel/std/transport"
)

// SessionInfo is one KCP session at a moment (see obs.SessionInfo).
type SessionInfo = obs.SessionInfo

// reasonKeepalive is why a session ends that nobody here closed: smux
// closes a session itself only when the peer was silent for its
// keepalive timeout.
const reasonKeepalive = "keepalive timeout: nothing heard from the peer"

// SessionInfos returns a snapshot of the client's KCP sessions.
func (c *Client) SessionInfos() []SessionInfo { return c.layers.sessions.snapshot(time.Now()) }

// SessionInfos returns a snapshot of the server's KCP sessions.
func (s *Server) SessionInfos() []SessionInfo { return s.layers.sessions.snapshot(time.Now()) }

// openSession counts the bytes of a KCP session, puts smux on it (see
// mux) and registers it: it is listed by SessionInfos and its end is
// logged with the reason until sessionTable.closeAll.
func (l *layers) openSession(conn *kcp.UDPSession, client bool, parity *transport.Peer) (*smux.Session, error) {
	tuner, timed := newFlowTuner(conn, l.common, parity)
	cc := &countingConn{Conn: timed}
	if tuner != nil {
		tuner.read = cc.in.Load
	}
	sess, fins, err := l.mux(cc, client)
	if err != nil {
		return nil, err
	}
	if err := l.sessions.add(l.log, &sessionEntry{kcp: conn, mux: sess, conn: cc, fins: fins, flow: tuner, created: time.Now()}); err != nil {
		sess.Close()
		return nil, err
	}
	return sess, nil
}

// countingConn counts the bytes read from and written to a KCP session,
// one atomic add per call.
type countingConn struct {
	net.Conn
	in, out atomic.Uint64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(uint64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(uint64(n))
	return n, err
}

// WriteBuffers keeps smux's vectored writes (used with --nocomp) when the
// session has them.
func (c *countingConn) WriteBuffers(v [][]byte) (n int, err error) {
	if bw, ok := c.Conn.(interface{ WriteBuffers([][]byte) (int, error) }); ok {
		n, err = bw.WriteBuffers(v)
		c.out.Add(uint64(n))
		return n, err
	}
	for _, b := range v {
		m, err := c.Write(b)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sessionEntry is one registered session.
type sessionEntry struct {
	kcp     *kcp.UDPSession
	mux     *smux.Session
	conn    *countingConn
	fins    *stream.FinWatch
	flow    *flowTuner // nil with --sendctl off
	created time.Time
	reason  atomic.Pointer[string] // why we closed it; nil: we did not
}

func (e *sessionEntry) info(now time.Time) SessionInfo {
	si := SessionInfo{
		Remote:   e.kcp.RemoteAddr().String(),
		Local:    e.kcp.LocalAddr().String(),
		Conv:     e.kcp.GetConv(),
		Age:      now.Sub(e.created),
		SRTT:     time.Duration(e.kcp.GetSRTT()) * time.Millisecond,
		RTO:      time.Duration(e.kcp.GetRTO()) * time.Millisecond,
		Streams:  e.mux.NumStreams(),
		BytesIn:  e.conn.in.Load(),
		BytesOut: e.conn.out.Load(),
	}
	if e.flow != nil {
		e.flow.fill(&si)
	}
	return si
}

// sessionTable lists the open sessions of a role; its zero value is ready.
// A goroutine per session logs "session closed" with the reason when the
// session ends and drops it from the table.
type sessionTable struct {
	mu      sync.Mutex
	entries map[*smux.Session]*sessionEntry
	closed  string // closeAll's reason; "" while open
	wg      sync.WaitGroup

	flowRunning bool // runFlow is running (flowctl.go)
}

func (t *sessionTable) add(log *slog.Logger, e *sessionEntry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed != "" {
		return ErrServerClosed
	}
	if t.entries == nil {
		t.entries = make(map[*smux.Session]*sessionEntry)
	}
	t.entries[e.mux] = e
	t.wg.Add(1)
	go t.watch(log, e)
	if e.flow != nil && !t.flowRunning {
		t.flowRunning = true
		t.wg.Add(1)
		go t.runFlow()
	}
	return nil
}

// watch waits for the end of e's session, then logs it and forgets it.
func (t *sessionTable) watch(log *slog.Logger, e *sessionEntry) {
	defer t.wg.Done()
	<-e.mux.CloseChan()
	t.mu.Lock()
	delete(t.entries, e.mux)
	closedAll := t.closed
	t.mu.Unlock()
	reason := reasonKeepalive
	switch r := e.reason.Load(); {
	case r != nil:
		reason = *r
	case closedAll != "":
		reason = closedAll
	}
	info := e.info(time.Now())
	log.Info("session closed", "remote", info.Remote, "conv", info.Conv, "reason", reason,
		"age", info.Age.Round(time.Millisecond), "bytes_in", info.BytesIn, "bytes_out", info.BytesOut)
}

// setReason records why sess is being closed, before it is closed.
func (t *sessionTable) setReason(sess *smux.Session, reason string) {
	t.mu.Lock()
	e := t.entries[sess]
	t.mu.Unlock()
	if e != nil {
		e.reason.CompareAndSwap(nil, &reason)
	}
}

// counts returns the byte counts of sess; nil if it is not registered.
func (t *sessionTable) counts(sess *smux.Session) *countingConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[sess]; e != nil {
		return e.conn
	}
	return nil
}

// finWatch returns the FIN watch of sess; nil if it is not registered.
func (t *sessionTable) finWatch(sess *smux.Session) *stream.FinWatch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[sess]; e != nil {
		return e.fins
	}
	return nil
}

// closeWith records reason and closes sess.
func (t *sessionTable) closeWith(sess *smux.Session, reason string) {
	t.setReason(sess, reason)
	sess.Close()
}

// closeAll refuses new sessions, closes the open ones (reason, unless one
// was recorded) and waits until every end is logged.
func (t *sessionTable) closeAll(reason string) {
	t.mu.Lock()
	if t.closed == "" {
		t.closed = reason
	}
	open := make([]*smux.Session, 0, len(t.entries))
	for sess := range t.entries {
		open = append(open, sess)
	}
	t.mu.Unlock()
	for _, sess := range open {
		sess.Close()
	}
	t.wg.Wait()
}

// snapshot lists the open sessions, oldest first.
func (t *sessionTable) snapshot(now time.Time) []SessionInfo {
	t.mu.Lock()
	entries := make([]*sessionEntry, 0, len(t.entries))
	for _, e := range t.entries {
		entries = append(entries, e)
	}
	t.mu.Unlock()
	slices.SortFunc(entries, func(a, b *sessionEntry) int { return a.created.Compare(b.created) })
	out := make([]SessionInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.info(now))
	}
	return out
}

// acceptReason turns the error that ended a server's AcceptStream loop
// into a close reason; "" when the session was closed (by us or smux's
// keepalive), whose reason is known elsewhere.
func acceptReason(err error) string {
	if errors.Is(err, io.ErrClosedPipe) {
		return ""
	}
	return "session error: " + err.Error()
}
