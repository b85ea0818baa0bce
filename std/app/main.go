package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/urfave/cli"

	"github.com/kcptun-go/tunnel/std/config"
)

// Role is what a main tells Main about its role: how to build its command
// line and how to make its service from the loaded configuration.
type Role[C any] struct {
	NewCLI  func(version string, getenv func(string) string, run func(*C, []string) error) *cli.App
	Common  func(*C) *config.Common
	Service func(*C, *slog.Logger) (Service, error)
}

// Main runs a role's process from its command line and returns the exit
// code: 0 after a clean run or a graceful shutdown, 1 on any error (bad
// configuration included), with the error on stderr.
func Main[C any](args []string, version string, r Role[C]) int {
	ctx, stop := signal.NotifyContext(context.Background(), StopSignals...)
	defer stop()
	if config.PluginMode(os.Getenv) { // SIP003: do not outlive shadowsocks
		var stopWatch context.CancelFunc
		ctx, stopWatch = StopWithParent(ctx, ParentPollInterval)
		defer stopWatch()
	}
	run := func(cfg *C, warnings []string) error {
		return Run(ctx, r.Common(cfg), warnings, NotifyUSR1(), func(log *slog.Logger) (Service, error) {
			return r.Service(cfg, log)
		})
	}
	if err := r.NewCLI(version, os.Getenv, run).Run(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(args[0]), err)
		return 1
	}
	return 0
}
