// Command client is the tunnel's client: it listens for local TCP (or unix)
// connections and carries them over KCP to the server.
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
	cli := config.NewClientApp(version, os.Getenv, func(cfg *config.Client, warnings []string) error {
		return app.Run(ctx, &cfg.Common, warnings, app.NotifyUSR1(), func(log *slog.Logger) (app.Service, error) {
			return tunnel.NewClient(cfg, log)
		})
	})
	if err := cli.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}
