package app

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// The processor scaler's tuning.
const (
	procsEvery   = time.Second
	procsBusy    = 0.9 // cores: one P this busy for procsBusyFor is a tunnel that needs more
	procsBusyFor = 2   // samples
	procsCalm    = 0.6 // cores: all Ps this idle for procsCalmFor fit on one again
	procsCalmFor = 10  // samples
	procsMinSpan = procsEvery / 2
	procsLow     = 1 // the Ps the scaler starts with and returns to
)

// procScaler sets how many threads run Go code at once (GOMAXPROCS):
// one while the tunnel's work fits on a core, all of them once it does
// not. A tunnel's packet path is a chain of goroutines (socket reader,
// KCP, smux, the TCP copier, the batch writer; and the ACKs back) that
// hand each other work thousands of times a second; with idle Ps, each
// hand-off wakes another thread, which spins looking for work and
// sleeps again. On the bench (2 CPUs, --crypt aes --mode fast3), one P
// moved a download for 0.84× the CPU on loopback and 0.70× on the lossy
// link, at the same goodput and RTT. A server with many busy clients,
// or a router whose one core cannot keep up with its link, uses more:
// procsBusy of a core for procsBusyFor seconds brings every P back, and
// procsCalm for procsCalmFor seconds returns to one.
//
// It is not safe for concurrent use; run calls step from one goroutine.
type procScaler struct {
	max  int                  // the Ps the runtime chose at the start (CPUs, or the container's limit)
	cpu  func() time.Duration // the process's CPU time so far
	set  func(n int)          // sets GOMAXPROCS; n = max gives the runtime its own choice back
	log  *slog.Logger         // told of each change
	n    int                  // the Ps now
	at   time.Time            // the last sample
	used time.Duration        // cpu() then
	busy int                  // samples in a row at procsBusy or more, at one P
	calm int                  // samples in a row under procsCalm, at max
}

// newProcScaler returns a scaler that runs at one P, or nil when there is
// nothing to scale: the environment sets GOMAXPROCS, the runtime has one
// P, or the process's CPU time cannot be read (cpu is nil).
func newProcScaler(getenv func(string) string, cpu func() time.Duration, set func(int), log *slog.Logger) *procScaler {
	avail := runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" || avail <= 1 || cpu == nil {
		return nil
	}
	s := &procScaler{max: avail, cpu: cpu, set: set, log: log, n: procsLow}
	set(s.n)
	return s
}

// step takes a sample at now and changes the Ps if it is time to.
func (s *procScaler) step(now time.Time) {
	used := s.cpu()
	if s.at.IsZero() {
		s.at, s.used = now, used
		return
	}
	span := now.Sub(s.at)
	if span < procsMinSpan {
		return
	}
	cores := float64(used-s.used) / float64(span)
	s.at, s.used = now, used
	switch {
	case s.n < s.max && cores >= procsBusy*float64(s.n):
		s.busy++
		if s.busy >= procsBusyFor {
			s.change(s.max, cores)
		}
	case s.n > procsLow && cores < procsCalm:
		s.calm++
		if s.calm >= procsCalmFor {
			s.change(procsLow, cores)
		}
	default:
		s.busy, s.calm = 0, 0
	}
}

// change sets n Ps.
func (s *procScaler) change(n int, cores float64) {
	s.log.Info("go processors", "gomaxprocs", n, "cpu_cores", float64(int(cores*100))/100)
	s.n, s.busy, s.calm = n, 0, 0
	s.set(n)
}

// setProcs sets GOMAXPROCS to n, or for n > 1 gives the runtime back its
// own choice, which follows the CPUs and the container's limit as they
// change (a fixed count would stop that).
func setProcs(n int) {
	if n <= procsLow {
		runtime.GOMAXPROCS(n)
		return
	}
	runtime.SetDefaultGOMAXPROCS()
}

// run samples every procsEvery until ctx ends, then gives the runtime
// back its own choice of Ps.
func (s *procScaler) run(ctx context.Context) {
	t := time.NewTicker(procsEvery)
	defer t.Stop()
	defer s.set(s.max)
	s.step(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.step(now)
		}
	}
}
