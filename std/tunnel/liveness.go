package tunnel

import (
	"net"
	"sync"
	"time"

	"github.com/xtaci/smux"
)

// Dead peers, noticed sooner than smux's 30 s keepalive timeout.
//
// A peer that died, or a server restarted on the same port, or a client
// whose NAT mapping changed: in each case KCP packets may still flow (a
// restarted server, or the server behind a new mapping, makes a FRESH
// KCP session for the client's packets, ACKs them and never delivers
// them, its receive sequence starting at 0), but no byte of the smux
// stream arrives in order any more. A live peer sends at least a smux
// NOP every keepalive interval, so:
//
//   - client: a session from which no byte arrived in order for the
//     keepalive interval plus a margin is dead: it is closed (its
//     streams end with an error) and a warning names the likely causes.
//     This assumes the server's --keepalive is not longer than the
//     client's (both default to 10 s, as in kcptun).
//   - client: a session that has not answered application data for
//     answerWait is suspect: new local connections go to a new session
//     (which works with a restarted server or through a new NAT mapping)
//     while the old one keeps its streams; it is closed once they end
//     or once it is found dead. A live server that takes longer than
//     answerWait to answer (a long poll, an upload whose reply comes at
//     the end: smux v1 sends nothing back meanwhile) looks the same, so
//     such a session may be replaced too: it costs one extra session,
//     never a stream.
//   - server: a session that delivered no byte in order within staleAfter
//     of appearing (half the keepalive interval when that is shorter) is
//     such a fresh session for a peer it cannot serve; it is closed
//     instead of lingering for 30 s. Closing it before its first smux NOP
//     matters: the NOPs of a fresh session carry KCP sequence numbers from
//     0 up, and once they reach the client's next expected number the
//     client would take them in order and think its dead session alive.
const (
	answerWait    = 2 * time.Second
	staleAfter    = 5 * time.Second
	livenessEvery = time.Second
	minSilence    = 2 * time.Second // the margin's floor

	reasonSilent  = "no data from the server: it is down or restarted, or this client's address changed (NAT)"
	reasonRetired = "replaced after the server stopped answering"
	reasonStale   = "stale: nothing arrived in order since it appeared (this server restarted, or the client's address changed)"
)

// silenceLimit is how long a session may go without an in-order byte
// from the peer: the keepalive interval and half of it again (at least
// minSilence more).
func silenceLimit(keepalive time.Duration) time.Duration {
	return keepalive + max(keepalive/2, minSilence)
}

// staleLimit is how long a server session may go without any in-order
// byte after it appeared.
func staleLimit(keepalive time.Duration) time.Duration {
	return min(staleAfter, keepalive/2)
}

// activity is what the liveness check knows of one session.
type activity struct {
	mu      sync.Mutex
	in      uint64    // in-order bytes from the peer, as last sampled
	heard   time.Time // when in last grew (first: when the session was made)
	waiting time.Time // the first application write since heard; zero: none
	retired bool      // replaced in its slot; closed once its streams end
}

// sample records the in-order byte count at now.
func (a *activity) sample(in uint64, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in != a.in {
		a.in, a.heard, a.waiting = in, now, time.Time{}
	}
}

// wrote records an application write at now.
func (a *activity) wrote(now time.Time) {
	a.mu.Lock()
	if a.waiting.IsZero() {
		a.waiting = now
	}
	a.mu.Unlock()
}

// state tells whether the session is silent past limit (dead) or has
// left application data unanswered for answerWait (suspect).
func (a *activity) state(now time.Time, limit time.Duration) (dead, suspect bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	dead = now.Sub(a.heard) >= limit
	suspect = !a.waiting.IsZero() && now.Sub(a.waiting) >= answerWait
	return dead, suspect
}

func (a *activity) retire() {
	a.mu.Lock()
	a.retired = true
	a.mu.Unlock()
}

func (a *activity) isRetired() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.retired
}

// liveEntry is a registered session as the liveness check sees it.
type liveEntry struct {
	mux     *smux.Session
	remote  string
	in      uint64
	created time.Time
}

// live lists the registered sessions (stats.go) with their in-order
// byte counts.
func (t *sessionTable) live() []liveEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]liveEntry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, liveEntry{mux: e.mux, remote: e.kcp.RemoteAddr().String(), in: e.conn.in.Load(), created: e.created})
	}
	return out
}

// bytesIn returns the in-order byte count of sess; false when it is not
// registered.
func (t *sessionTable) bytesIn(sess *smux.Session) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[sess]; e != nil {
		return e.conn.in.Load(), true
	}
	return 0, false
}

// activityOf returns the activity of sess, made with heard = since when
// it is new.
func (h *health) activityOf(sess *smux.Session, since time.Time) *activity {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.acts == nil {
		h.acts = make(map[*smux.Session]*activity)
	}
	a := h.acts[sess]
	if a == nil {
		a = &activity{heard: since}
		h.acts[sess] = a
	}
	return a
}

// forgetExcept drops the activities of sessions not in keep.
func (h *health) forgetExcept(keep map[*smux.Session]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.acts {
		if !keep[s] {
			delete(h.acts, s)
		}
	}
}

// watchLiveness starts, once, the goroutine that runs check every
// livenessEvery until stop.
func (h *health) watchLiveness(check func(now time.Time)) {
	h.every(&h.liveStarted, livenessEvery, check)
}

// checkClientSessions closes the client's dead sessions, and the retired
// ones whose streams have ended.
func (c *Client) checkClientSessions(now time.Time) {
	limit := silenceLimit(time.Duration(c.cfg.KeepAlive) * time.Second)
	keep := make(map[*smux.Session]bool)
	for _, e := range c.layers.sessions.live() {
		keep[e.mux] = true
		a := c.health.activityOf(e.mux, e.created)
		a.sample(e.in, now)
		dead, _ := a.state(now, limit)
		switch {
		case dead:
			c.log.Warn("closing a session: "+reasonSilent, "remote", e.remote, "silent_for", limit,
				"streams", e.mux.NumStreams())
			c.layers.sessions.closeWith(e.mux, reasonSilent)
		case a.isRetired() && e.mux.NumStreams() == 0:
			c.layers.sessions.closeWith(e.mux, reasonRetired)
		}
	}
	c.health.forgetExcept(keep)
}

// answering reports whether new streams may go to sess: false when it is
// dead (then it is closed) or suspect (then it is retired: kept for its
// streams, closed when they end).
func (c *Client) answering(sess *smux.Session, now time.Time) bool {
	in, ok := c.layers.sessions.bytesIn(sess)
	if !ok {
		return true // not registered (yet): nothing known against it
	}
	a := c.health.activityOf(sess, now)
	a.sample(in, now)
	dead, suspect := a.state(now, silenceLimit(time.Duration(c.cfg.KeepAlive)*time.Second))
	switch {
	case dead:
		c.log.Warn("closing a session: "+reasonSilent, "remote", sess.RemoteAddr().String(), "streams", sess.NumStreams())
		c.layers.sessions.closeWith(sess, reasonSilent)
		return false
	case suspect:
		c.log.Info("the server has not answered for a while: new streams go to a new session",
			"remote", sess.RemoteAddr().String(), "waited", answerWait, "streams", sess.NumStreams())
		a.retire()
		return false
	}
	return true
}

// checkServerSessions closes the server's stale sessions.
func (s *Server) checkServerSessions(now time.Time) {
	limit := staleLimit(time.Duration(s.cfg.KeepAlive) * time.Second)
	for _, e := range s.layers.sessions.live() {
		if e.in == 0 && now.Sub(e.created) >= limit {
			s.layers.sessions.closeWith(e.mux, reasonStale)
		}
	}
}

// trackWrites wraps a client's stream so that application data written
// into it is recorded in a (for the suspect rule). It keeps CloseWrite
// when the stream has it.
func trackWrites(conn net.Conn, a *activity) net.Conn {
	w := writeTracker{Conn: conn, a: a}
	if cw, ok := conn.(halfCloser); ok {
		return &writeTrackerCW{writeTracker: w, cw: cw}
	}
	return &w
}

type halfCloser interface{ CloseWrite() error }

type writeTracker struct {
	net.Conn
	a *activity
}

func (w *writeTracker) Write(b []byte) (int, error) {
	w.a.wrote(time.Now())
	return w.Conn.Write(b)
}

type writeTrackerCW struct {
	writeTracker
	cw halfCloser
}

func (w *writeTrackerCW) CloseWrite() error { return w.cw.CloseWrite() }
