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
// connections, then to the first. A slot's session is made when a
// connection first goes to it, so a client used one connection at a time
// keeps one session.
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

// read decays the slot's recent bytes to now, adds what its session moved
// since the last read (as if just now: reads come only when a connection
// is placed, so a busy slot may look busy for longer than it was), and
// returns them with the active connections.
func (l *slotLoad) read(now time.Time) (recent float64, active int) {
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
	return l.recent, l.active
}

// join counts a connection placed on the slot; leave undoes it.
func (l *slotLoad) join()  { l.mu.Lock(); l.active++; l.mu.Unlock() }
func (l *slotLoad) leave() { l.mu.Lock(); l.active--; l.mu.Unlock() }

// pickSlot returns the index of the least busy of loads, read at now
// (the first among equals), and counts a connection on it.
func pickSlot(loads []*slotLoad, now time.Time) int {
	best, bestBytes, bestActive := -1, 0.0, 0
	for i, l := range loads {
		bytes, active := l.read(now)
		if active == 0 {
			bytes = 0 // what it moved is delivered: nothing waits there
		}
		if best < 0 || better(bytes, active, bestBytes, bestActive) {
			best, bestBytes, bestActive = i, bytes, active
		}
	}
	loads[best].join()
	return best
}

// better reports whether a slot with (bytes, active) is less busy than
// one with (bytesB, activeB).
func better(bytes float64, active int, bytesB float64, activeB int) bool {
	if math.Abs(bytes-bytesB) > loadSame {
		return bytes < bytesB
	}
	return active < activeB
}
