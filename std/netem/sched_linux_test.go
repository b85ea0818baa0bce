//go:build linux

package netem

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runQueueWait returns, per thread of this process, how long it has waited
// for a CPU while runnable (the second field of Linux's schedstat).
func runQueueWait() map[string]time.Duration {
	files, _ := filepath.Glob("/proc/self/task/*/schedstat")
	waits := make(map[string]time.Duration, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		fields := strings.Fields(string(b))
		if len(fields) < 2 {
			continue
		}
		ns, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		waits[filepath.Base(filepath.Dir(f))] = time.Duration(ns)
	}
	return waits
}

// startCPUContentionProbe returns a function reporting how long, in total,
// this process's threads have waited for a CPU since the probe started: a
// measure of how much other processes crowded this one out.
func startCPUContentionProbe() func() (time.Duration, bool) {
	before := runQueueWait()
	return func() (time.Duration, bool) {
		var total time.Duration
		for tid, w := range runQueueWait() {
			total += w - before[tid]
		}
		return total, len(before) > 0
	}
}
