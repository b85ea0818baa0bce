// Command server is the tunnel's server: it accepts KCP sessions from clients
// and opens every stream they carry to the target.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/kcptun-go/tunnel/std/app"
	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/tunnel"
)

// version is stamped by build-release.sh with -ldflags "-X main.version=...".
var version = "SELFBUILD"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), app.StopSignals...)
	defer stop()
	cli := config.NewServerApp(version, os.Getenv, func(cfg *config.Server, warnings []string) error {
		return app.Run(ctx, &cfg.Common, warnings, app.NotifyUSR1(), func(log *slog.Logger) (app.Service, error) {
			return tunnel.NewServer(cfg, log)
		})
	})
	if err := cli.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}
