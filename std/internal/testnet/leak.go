package testnet

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// CheckLeaks records the goroutines running now and, when the test ends
// (after the cleanups registered later have run), fails if more are
// still running once they have had a few seconds to exit.
func CheckLeaks(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutine leak: %d running, %d at start\n%s", n, base, stacks())
				return
			}
			runtime.Gosched()
			time.Sleep(20 * time.Millisecond) // polling for exits, not synchronising
		}
	})
}

func stacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	s := string(buf)
	if len(s) > 20000 {
		s = s[:20000] + "\n..."
	}
	return strings.TrimSpace(s)
}
