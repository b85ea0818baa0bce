package netem

import (
	"encoding/binary"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// arrival is one delivered packet as a test sees it.
type arrival struct {
	seq uint64
	at  time.Time
}

// collector records the packets a link delivers, in delivery order.
type collector struct {
	mu   sync.Mutex
	got  []arrival
	more chan struct{}
}

func newCollector() *collector {
	return &collector{more: make(chan struct{}, 1)}
}

func (c *collector) deliver(b []byte, _ net.Addr) {
	now := time.Now()
	c.mu.Lock()
	c.got = append(c.got, arrival{seq: binary.BigEndian.Uint64(b), at: now})
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// waitFor returns the first n arrivals once they are in, failing the test
// if they do not come within timeout.
func (c *collector) waitFor(t testing.TB, n int, timeout time.Duration) []arrival {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		if len(c.got) >= n {
			got := slices.Clone(c.got[:n])
			c.mu.Unlock()
			return got
		}
		have := len(c.got)
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("got %d of %d packets within %v", have, n, timeout)
		}
	}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// newTestLink starts a link closed at the end of the test.
func newTestLink(t testing.TB, spec Spec, deliver func([]byte, net.Addr), opts ...Option) *Link {
	t.Helper()
	l, err := NewLink(spec, deliver, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// seqPacket is a size-byte packet carrying seq in its first 8 bytes.
func seqPacket(seq uint64, size int) []byte {
	b := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(b, seq)
	return b
}

// sendSeq sends packets 0..n-1 back to back and returns when each was sent.
func sendSeq(l *Link, n, size int) []time.Time {
	sent := make([]time.Time, n)
	b := seqPacket(0, size)
	for i := range n {
		binary.BigEndian.PutUint64(b, uint64(i))
		sent[i] = time.Now()
		l.Send(b, nil)
	}
	return sent
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

func durationsSorted(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(q*float64(len(sorted)-1))]
}

func meanStd(ds []time.Duration) (mean, std float64) {
	for _, d := range ds {
		mean += float64(d)
	}
	mean /= float64(len(ds))
	for _, d := range ds {
		std += (float64(d) - mean) * (float64(d) - mean)
	}
	return mean, math.Sqrt(std / float64(len(ds)))
}
