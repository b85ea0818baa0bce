//go:build unix

package app

import (
	"syscall"
	"time"
)

// processCPU returns a reader of the process's CPU time (user and
// system).
func processCPU() func() time.Duration {
	return func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
}
