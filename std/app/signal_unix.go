//go:build !windows && !plan9

package app

import (
	"os"
	"os/signal"
	"syscall"
)

// NotifyUSR1 returns a channel that receives SIGUSR1.
func NotifyUSR1() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	return ch
}

// StopSignals are the signals that start a graceful shutdown.
var StopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
