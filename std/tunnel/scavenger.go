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
}

type retired struct {
	sess     *smux.Session
	deadline time.Time
}

func newScavenger(log *slog.Logger, done <-chan struct{}) *scavenger {
	return &scavenger{log: log, done: done, add_: make(chan retired)}
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
		sess.Close()
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
				r.sess.Close()
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
			r.sess.Close()
			s.log.Info("session closed", "remote", r.sess.RemoteAddr().String(), "reason", "expired and idle")
		case now.After(r.deadline):
			r.sess.Close()
			s.log.Info("session closed", "remote", r.sess.RemoteAddr().String(), "reason", "scavengettl reached")
		default:
			kept = append(kept, r)
		}
	}
	clear(list[len(kept):])
	return kept
}
