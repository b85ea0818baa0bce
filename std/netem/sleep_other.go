//go:build !linux

package netem

import "time"

// lockTimerThread does nothing where timer slack cannot be set.
func lockTimerThread() {}

// preciseSleep falls back to time.Sleep, as precise as the platform's timers.
func preciseSleep(d time.Duration) { time.Sleep(d) }
