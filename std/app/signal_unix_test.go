//go:build !windows && !plan9

package app

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A real SIGUSR1 sent to the process reaches the channel that Run reads
// its snapshot requests from (and does not kill the process).
func TestNotifyUSR1ReceivesTheSignal(t *testing.T) {
	ch := NotifyUSR1()
	// The registration stays for the rest of the test binary: harmless.
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case sig := <-ch:
		if sig != syscall.SIGUSR1 {
			t.Errorf("got %v, want SIGUSR1", sig)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGUSR1 not delivered on the channel within 10s")
	}
}
