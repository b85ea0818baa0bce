package tunnel

import (
	"math"
	"sync"
	"time"
)

// How the client spreads local connections over its --conn sessions (2
// by default; kcptun's 1 and round robin). A stream waits behind every
// byte queued before it in its session and behind every hole in it (KCP
// delivers in order), so a connection opened while a download runs should
// not share the download's session: it goes to the slot whose session
// moved the fewest bytes lately for connections still open (a slot with
// none open has nothing queued), then to the one carrying the fewest
// connections, then to the one picked longest ago (so that two
// connections opened together, a download and an SSH say, get a session
// each even when nothing yet tells them apart, and a connection that has
// just closed, whose stream is still ending, does not decide). A slot's
// session is made when a connection first goes to it.
const (
	// loadDecay is the time constant over which a session's bytes stop
	// counting as recent.
	loadDecay = time.Second
	// loadSame is how close two loads (bytes) must be to count as equal,
	// so that keepalives and a few keystrokes do not decide.
	loadSame = 64 << 10
)

// slotLoad is how busy one slot has been: the bytes its sessions moved,
// decayed with loadDecay, and the local connections it carries now.
type slotLoad struct {
	mu     sync.Mutex
	src    *countingConn // the slot's session's counts; nil: none yet
	last   uint64        // src's total when last read
	at     time.Time     // when recent was last decayed
	recent float64       // bytes, decayed
	active int           // local connections on the slot
	picked uint64        // pickSlot's count when it last chose the slot (0: never)
}

// setSource starts counting the bytes of a new session of the slot.
func (l *slotLoad) setSource(cc *countingConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.src = cc
	if cc != nil {
		l.last = cc.in.Load() + cc.out.Load()
	}
}

// view decays the slot's recent bytes to now and adds what its session
// moved since the last view (as if just now: views come only when a
// connection is placed, so a busy slot may look busy for longer than it
// was). A slot with no connection open has nothing queued, whatever it
// moved: its bytes count as none.
func (l *slotLoad) view(now time.Time) slotView {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() {
		l.recent *= math.Exp(-float64(now.Sub(l.at)) / float64(loadDecay))
	}
	l.at = now
	if l.src != nil {
		total := l.src.in.Load() + l.src.out.Load()
		l.recent += float64(total - l.last)
		l.last = total
	}
	v := slotView{active: l.active, picked: l.picked}
	if l.active > 0 {
		v.bytes = l.recent
	}
	return v
}

// join counts a connection placed on the slot by pick seq; leave undoes
// the count.
func (l *slotLoad) join(seq uint64) { l.mu.Lock(); l.active++; l.picked = seq; l.mu.Unlock() }
func (l *slotLoad) leave()          { l.mu.Lock(); l.active--; l.mu.Unlock() }

// slotView is one slot as pickSlot compares it.
type slotView struct {
	bytes  float64
	active int
	picked uint64
}

// pickSlot returns the index of the least busy of loads, read at now,
// and counts a connection on it; seq numbers the pick (1, 2, …). The
// caller makes one pick at a time.
func pickSlot(loads []*slotLoad, now time.Time, seq uint64) int {
	best := -1
	var bestView slotView
	for i, l := range loads {
		v := l.view(now)
		if best < 0 || v.lessBusy(bestView) {
			best, bestView = i, v
		}
	}
	loads[best].join(seq)
	return best
}

// lessBusy reports whether v is less busy than w.
func (v slotView) lessBusy(w slotView) bool {
	switch {
	case math.Abs(v.bytes-w.bytes) > loadSame:
		return v.bytes < w.bytes
	case v.active != w.active:
		return v.active < w.active
	}
	return v.picked < w.picked
}
