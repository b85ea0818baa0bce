package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/obs"
	"github.com/kcptun-go/tunnel/std/tunnel"
)

// GracePeriod bounds how long open streams may finish after SIGINT or
// SIGTERM.
const GracePeriod = 10 * time.Second

// gcPercent is the garbage collector's target (GOGC) unless the
// environment sets one: the heap may grow by half its live size between
// collections, not by all of it (Go's default). A tunnel's live heap is
// mostly buffers in use and it allocates little per packet, so
// collections stay rare, while the peak heap, most of the resident
// memory, falls by a quarter (bench, 100 parallel downloads: client
// peak RSS 49 → 37 MB).
const gcPercent = 50

// setGCTarget sets the collector's target to gcPercent unless getenv
// says GOGC, and returns the one before (-2: GOGC is set, untouched).
func setGCTarget(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		return -2
	}
	return debug.SetGCPercent(gcPercent)
}

// Service is a tunnel role (tunnel.Client or tunnel.Server).
type Service interface {
	ListenAndServe() error
	Shutdown(ctx context.Context) error
	Close() error
}

// Run sets up logging and the observability outputs for c, makes the
// service with newSvc and serves until ctx ends (then shuts down
// gracefully) or the service fails. usr1 delivers SIGUSR1 (may be nil).
// It first sets the garbage collector's target (gcPercent) unless GOGC
// is set, and runs on one P while the work fits on a core (procScaler)
// unless GOMAXPROCS is set.
func Run(ctx context.Context, c *config.Common, warnings []string, usr1 <-chan os.Signal,
	newSvc func(*slog.Logger) (Service, error)) error {
	setGCTarget(os.Getenv)
	w, err := obs.OpenLog(c.Log)
	if err != nil {
		return err
	}
	defer w.Close()
	log := obs.NewLogger(w, slog.LevelInfo)
	for _, warn := range warnings {
		log.Warn(warn)
	}
	svc, err := newSvc(log)
	if err != nil {
		return err
	}
	defer svc.Close() // on every return: Close also removes --tcp's firewall rules

	var observers sync.WaitGroup // --snmplog, --metrics, SIGUSR1: they end with ctx
	defer observers.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s := newProcScaler(os.Getenv, processCPU(), setProcs, log); s != nil {
		observers.Add(1)
		go func() {
			defer observers.Done()
			s.run(ctx)
		}()
	}
	if c.Pprof {
		ln, err := net.Listen("tcp", obs.PprofAddr)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		go obs.ServePprof(ctx, ln, log)
	}
	if err := startObservers(ctx, &observers, c, sessionsOf(svc), usr1, log); err != nil {
		return err
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- svc.ListenAndServe() }()
	select {
	case err := <-serveErr:
		svc.Close()
		if errors.Is(err, tunnel.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", GracePeriod)
	sctx, scancel := context.WithTimeout(context.Background(), GracePeriod)
	defer scancel()
	if err := svc.Shutdown(sctx); err != nil {
		log.Warn("streams still open after the grace period were closed", "err", err)
	}
	<-serveErr
	return nil
}
