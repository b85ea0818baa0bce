//go:build linux

package netem

import (
	"runtime"
	"syscall"
	"time"
)

const prSetTimerSlack = 29 // PR_SET_TIMERSLACK from <linux/prctl.h>

// lockTimerThread pins the calling goroutine to its OS thread and asks the
// kernel for 1 ns timer slack on it (the default is 50 µs), so
// preciseSleep wakes within tens of microseconds. The goroutine must never
// unlock: when it exits, the runtime retires the thread with its slack.
func lockTimerThread() {
	runtime.LockOSThread()
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
}

// preciseSleep sleeps about d with nanosleep, which unlike Go timers is not
// rounded up to the millisecond. An interrupted sleep returns early; callers
// re-check the clock.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
