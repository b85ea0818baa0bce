//go:build !linux

package netem

import "time"

// startCPUContentionProbe cannot measure contention here and says so.
func startCPUContentionProbe() func() (time.Duration, bool) {
	return func() (time.Duration, bool) { return 0, false }
}
