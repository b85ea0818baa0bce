package stream

import (
	"io"
	"net"
	"runtime"
	"testing"
)

// BenchmarkPipeIdleMemory reports the heap and stack memory each idle
// piped connection holds (client TCP → Pipe → target TCP, after one
// exchange each way), as bytes per connection: what a router pays for
// every SSH or keep-alive connection it carries.
func BenchmarkPipeIdleMemory(b *testing.B) {
	const conns = 200
	for b.Loop() {
		before := memInUse()
		var ends []net.Conn
		var dones []<-chan pipeResult
		for range conns {
			client, a, err := tcpPairErr()
			if err != nil {
				b.Fatal(err)
			}
			c, target, err := tcpPairErr()
			if err != nil {
				b.Fatal(err)
			}
			dones = append(dones, startPipe(a, c))
			ends = append(ends, client, target)
			exchange(b, client, target)
		}
		b.ReportMetric(float64(memInUse()-before)/conns, "B/conn")
		for _, c := range ends {
			c.Close()
		}
		for _, d := range dones {
			<-d
		}
	}
}

// exchange sends a few bytes each way through a pipe.
func exchange(b *testing.B, client, target net.Conn) {
	buf := make([]byte, 5)
	for _, dir := range [][2]net.Conn{{client, target}, {target, client}} {
		if _, err := dir[0].Write([]byte("hello")); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(dir[1], buf); err != nil {
			b.Fatal(err)
		}
	}
}

// memInUse is the heap and goroutine stack memory in use after two
// collections (the second empties the sync.Pools, whose buffers would
// otherwise be counted before and reused after).
func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
