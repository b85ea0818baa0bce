package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/obs"
)

// sessionLister is what both tunnel roles offer for SIGUSR1 and --metrics.
type sessionLister interface {
	SessionInfos() []obs.SessionInfo
}

// sessionsOf returns svc's session snapshot function, or nil when svc
// lists none.
func sessionsOf(svc Service) func() []obs.SessionInfo {
	if l, ok := svc.(sessionLister); ok {
		return l.SessionInfos
	}
	return nil
}

// startObservers starts, each in a goroutine counted in wg that ends with
// ctx: the --snmplog writer, the --metrics server (its address is taken
// here, so a busy port fails the start), and the SIGUSR1 snapshot.
func startObservers(ctx context.Context, wg *sync.WaitGroup, c *config.Common,
	sessions func() []obs.SessionInfo, usr1 <-chan os.Signal, log *slog.Logger) error {
	if c.Metrics != "" {
		ln, err := net.Listen("tcp", c.Metrics)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		h := obs.MetricsHandler(obs.NewMetricsRegistry(sessions))
		wg.Go(func() {
			if err := obs.ServeMetrics(ctx, ln, h, log); err != nil {
				log.Error("metrics server stopped", "err", err)
			}
		})
	}
	wg.Go(func() { obs.RunSnmpLog(ctx, c.SnmpLog, time.Duration(c.SnmpPeriod)*time.Second, log) })
	wg.Go(func() { logSnapshotOnSignal(ctx, usr1, sessions, log) })
	return nil
}

// logSnapshotOnSignal logs kcptun's "KCP SNMP:" line and the session
// table each time usr1 delivers.
func logSnapshotOnSignal(ctx context.Context, usr1 <-chan os.Signal, sessions func() []obs.SessionInfo, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-usr1:
			var list []obs.SessionInfo
			if sessions != nil {
				list = sessions()
			}
			obs.LogSnapshot(log, kcp.DefaultSnmp.Copy(), list)
		}
	}
}
