package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/obs"
	"github.com/kcptun-go/tunnel/std/tunnel"
)

// GracePeriod bounds how long open streams may finish after SIGINT or
// SIGTERM.
const GracePeriod = 10 * time.Second

// Service is a tunnel role (tunnel.Client or tunnel.Server).
type Service interface {
	ListenAndServe() error
	Shutdown(ctx context.Context) error
	Close() error
}

// Run sets up logging and the observability outputs for c, makes the
// service with newSvc and serves until ctx ends (then shuts down
// gracefully) or the service fails. usr1 delivers SIGUSR1 (may be nil).
func Run(ctx context.Context, c *config.Common, warnings []string, usr1 <-chan os.Signal,
	newSvc func(*slog.Logger) (Service, error)) error {
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Pprof {
		ln, err := net.Listen("tcp", obs.PprofAddr)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		go obs.ServePprof(ctx, ln, log)
	}
	go obs.RunSnmpLog(ctx, c.SnmpLog, time.Duration(c.SnmpPeriod)*time.Second, log)
	go logSnmpOnSignal(ctx, usr1, log)

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

func logSnmpOnSignal(ctx context.Context, usr1 <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-usr1:
			log.Info(obs.SnmpLine(kcp.DefaultSnmp.Copy()))
		}
	}
}
