//go:build windows || plan9

package app

import "os"

// NotifyUSR1 returns nil: there is no SIGUSR1 on this system.
func NotifyUSR1() <-chan os.Signal { return nil }

// StopSignals are the signals that start a graceful shutdown.
var StopSignals = []os.Signal{os.Interrupt}
