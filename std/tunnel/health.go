package tunnel

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	kcp "github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"
)

// A peer whose --key, --crypt, --nocomp or --smuxver differ (wire.md §1)
// fails quietly: its packets are dropped, or its session dies at the
// first frame. health turns those failures into log lines that name the
// likely mismatch, at most one per hint every hintEvery, so a
// misconfigured peer or a flood cannot fill the log. One-sided QPP has no
// such symptom: it only changes the stream bytes the applications see.
const (
	hintChecksum = "packets fail the checksum: --key or --crypt differ?"
	hintSmux     = "session failed: --smuxver or --nocomp differ?"
	hintComp     = "session failed: --nocomp differs?"

	hintEvery     = 30 * time.Second
	checksumEvery = time.Second // how often the checksum counter is read
)

// setupHint names the setting that likely differs for an error that
// ended a session, or returns "" for errors a mismatch does not cause.
// KCP delivers every byte intact, so a frame that smux or the snappy
// reader rejects came from a peer that frames differently.
func setupHint(err error) string {
	switch {
	case errors.Is(err, smux.ErrInvalidProtocol):
		return hintSmux
	case errors.Is(err, snappy.ErrCorrupt), errors.Is(err, snappy.ErrUnsupported):
		return hintComp
	}
	return ""
}

// health holds a role's mismatch hints (the rate limit, the checksum
// watch of the server, the session watchers of the client) and its
// liveness check (liveness.go). Its zero value is ready; stop ends its
// goroutines.
type health struct {
	mu         sync.Mutex
	last       map[string]time.Time // when each hint was last logged
	suppressed map[string]int       // lines held back since
	started    bool                 // the checksum watch
	stopped    bool
	done       chan struct{}
	wg         sync.WaitGroup

	liveStarted bool                        // the liveness check (liveness.go)
	acts        map[*smux.Session]*activity // what it knows of each session
}

// allow reports whether hint may be logged at now, and how many lines of
// it were held back since it last was.
func (h *health) allow(hint string, now time.Time) (ok bool, suppressed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last, h.suppressed = make(map[string]time.Time), make(map[string]int)
	}
	if last, seen := h.last[hint]; seen && now.Sub(last) < hintEvery {
		h.suppressed[hint]++
		return false, 0
	}
	h.last[hint] = now
	suppressed = h.suppressed[hint]
	h.suppressed[hint] = 0
	return true, suppressed
}

// sessionFailed logs the hint for the error that ended a session, if
// the error suggests a mismatch.
func (h *health) sessionFailed(log *slog.Logger, remote string, err error) {
	hint := setupHint(err)
	if hint == "" {
		return
	}
	ok, suppressed := h.allow(hint, time.Now())
	if !ok {
		return
	}
	attrs := []any{"remote", remote, "err", err}
	if suppressed > 0 {
		attrs = append(attrs, "more_since_last_line", suppressed)
	}
	log.Warn(hint, attrs...)
}

// spawn runs fn in a goroutine that stop waits for; done is closed by
// stop. It returns false, running nothing, after stop.
func (h *health) spawn(fn func(done <-chan struct{})) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	if h.done == nil {
		h.done = make(chan struct{})
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn(h.done)
	}()
	return true
}

// every starts, once per flag (guarded by mu), the goroutine that calls
// fn every d until stop.
func (h *health) every(started *bool, d time.Duration, fn func(now time.Time)) {
	h.mu.Lock()
	first := !*started
	*started = true
	h.mu.Unlock()
	if !first {
		return
	}
	h.spawn(func(done <-chan struct{}) {
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				fn(now)
			}
		}
	})
}

// watchChecksums starts, once, the goroutine that reads kcp-go's count
// of packets that failed the checksum (or the AEAD tag) every
// checksumEvery and logs hintChecksum when it grew. kcp-go counts them
// for the whole process and not per source, so the line names no
// address; in the server process they are the server's packets.
func (h *health) watchChecksums(log *slog.Logger) {
	read := func() uint64 { return atomic.LoadUint64(&kcp.DefaultSnmp.InCsumErrors) }
	logged := read()
	h.every(&h.started, checksumEvery, func(now time.Time) {
		cur := read()
		if cur == logged {
			return
		}
		if ok, _ := h.allow(hintChecksum, now); ok {
			log.Warn(hintChecksum, "packets", cur-logged)
			logged = cur
		}
	})
}

// watchSession waits, in a goroutine, for the end of a client session
// and logs the hint its error suggests. The client never accepts streams:
// any the server opens are closed at once.
func (h *health) watchSession(log *slog.Logger, sess *smux.Session, remote string) {
	ok := h.spawn(func(<-chan struct{}) {
		for {
			st, err := sess.AcceptStream()
			if err != nil {
				h.sessionFailed(log, remote, err)
				return
			}
			st.Close()
		}
	})
	if !ok {
		sess.Close()
	}
}

// stop ends the checksum watch and waits for it and for the session
// watchers (whose sessions the caller has closed).
func (h *health) stop() {
	h.mu.Lock()
	if !h.stopped {
		h.stopped = true
		if h.done != nil {
			close(h.done)
		}
	}
	h.mu.Unlock()
	h.wg.Wait()
}
