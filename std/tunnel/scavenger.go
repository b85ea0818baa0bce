package tunnel

import (
	"log/slog"
	"sync"
	"time"

	"github.com/xtaci/smux"
)

// scavengePeriod is how often expired sessions are checked, as in kcptun.
const scavengePeriod = 5 * time.Second

// scavenger closes sessions that --autoexpire retired: when their last
// stream ends, or at the latest at expiry + --scavengettl.
type scavenger struct {
	log  *slog.Logger
	done <-chan struct{}
	add_ chan retired
	once sync.Once
	wg   sync.WaitGroup

	// closeWith closes a session and records why (sessionTable.closeWith,
	// which logs "session closed").
	closeWith func(sess *smux.Session, reason string)
}

type retired struct {
	sess     *smux.Session
	deadline time.Time
}

func newScavenger(log *slog.Logger, done <-chan struct{}, closeWith func(*smux.Session, string)) *scavenger {
	return &scavenger{log: log, closeWith: closeWith, done: done, add_: make(chan retired)}
}

func (s *scavenger) start() {
	s.once.Do(func() {
		s.wg.Add(1)
		go s.run()
	})
}

// add hands a retired session over; if the scavenger is stopped the
// session is closed at once.
func (s *scavenger) add(sess *smux.Session, deadline time.Time) {
	select {
	case s.add_ <- retired{sess, deadline}:
	case <-s.done:
		s.closeWith(sess, "client closed")
	}
}

// wait returns when the scavenger goroutine has ended (after done).
func (s *scavenger) wait() { s.wg.Wait() }

func (s *scavenger) run() {
	defer s.wg.Done()
	t := time.NewTicker(scavengePeriod)
	defer t.Stop()
	var list []retired
	for {
		select {
		case r := <-s.add_:
			list = append(list, r)
		case now := <-t.C:
			list = s.sweep(list, now)
		case <-s.done:
			for _, r := range list {
				s.closeWith(r.sess, "client closed")
			}
			return
		}
	}
}

func (s *scavenger) sweep(list []retired, now time.Time) []retired {
	kept := list[:0]
	for _, r := range list {
		switch {
		case r.sess.IsClosed():
		case r.sess.NumStreams() == 0:
			s.closeWith(r.sess, "expired and idle")
		case now.After(r.deadline):
			// Streams still open here are cut: the TTL was too short for them.
			s.log.Warn("expired session still carries streams at its scavengettl; they are closed now: raise --scavengettl if they should finish",
				"remote", r.sess.RemoteAddr().String(), "streams", r.sess.NumStreams())
			s.closeWith(r.sess, "scavengettl reached")
		default:
			kept = append(kept, r)
		}
	}
	clear(list[len(kept):])
	return kept
}
