//go:build linux

package faults

import (
	"net"
	"testing"
	"time"
)

// Under `ulimit -n 256` the client runs out of descriptors when more
// local connections arrive than it may hold: its accept loop backs off
// (a few log lines and little CPU, not a hot loop), it does not crash,
// and it serves again once the connections close.
func TestClientAcceptBacksOffOutOfDescriptors(t *testing.T) {
	const (
		limit  = 256
		excess = 300 // connections held open: more than the limit
		window = 2 * time.Second
	)
	tn := startTunnel(t, startTarget(t), func(t *testing.T, bin string, args ...string) *proc {
		return startLimited(t, limit, bin, args...)
	})
	first := tn.dial(t)
	if err := exchange(first, 1, 10*time.Second); err != nil { // the session exists before the shortage
		t.Fatal(err)
	}
	first.Close()

	held := make([]net.Conn, 0, excess)
	for range excess {
		c, err := net.Dial("tcp", tn.local) // the kernel's backlog takes them
		if err != nil {
			t.Fatalf("connection %d: %v", len(held), err)
		}
		held = append(held, c)
	}
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	tn.client.waitLog(t, 10*time.Second, "accept failed, backing off")

	// Measure the client while it is out of descriptors.
	lines, cpu := len(tn.client.lines("backing off")), tn.client.cpuTime(t)
	time.Sleep(window) // a measurement window, not synchronisation
	lines, cpu = len(tn.client.lines("backing off"))-lines, tn.client.cpuTime(t)-cpu
	t.Logf("out of descriptors for %v: %d backoff lines, %v CPU", window, lines, cpu)
	t.Log(tn.client.lines("backing off")[0])
	if lines > 20 || cpu > window/4 {
		t.Errorf("hot loop: %d backoff lines and %v CPU in %v", lines, cpu, window)
	}

	for _, c := range held {
		c.Close()
	}
	held = held[:0]
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", tn.local)
		if err == nil {
			err = exchange(c, 2, 3*time.Second)
			c.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client does not serve again after the connections closed: %v", err)
		}
	}
	select {
	case <-tn.client.exited:
		t.Fatalf("the client exited: %v", tn.client.err)
	default:
	}
}
