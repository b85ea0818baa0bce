package tunnel

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

var floodFull = flag.Bool("flood.full", false,
	"TestFloodDuringTransfer: the full size (200,000 datagrams during a 64 MB transfer) instead of the quick one")

// The flood the issue asks for, and the quick one run by default (the
// full one takes about a minute under -race on two cores).
const (
	floodDatagrams      = 200_000
	floodTransfer       = 64 << 20
	floodQuickDatagrams = 25_000
	floodQuickTransfer  = 8 << 20
	floodMaxDatagram    = 65_507 // the largest UDP payload over IPv4
	floodSenders        = 16     // sockets, each on its own 127.0.0.x address
	floodRate           = 50_000 // datagrams per second, all senders together
	floodRSSBudget      = 64 << 20
	chunkLen            = 64 << 10
)

// Random datagrams from many loopback sources hit the server while a
// transfer runs through it: the transfer arrives byte-exact, the process
// (the server, client and target all run in it) grows by less than
// floodRSSBudget, and every goroutine ends afterwards (startPair checks).
func TestFloodDuringTransfer(t *testing.T) {
	datagrams, transfer := floodQuickDatagrams, floodQuickTransfer
	if *floodFull {
		datagrams, transfer = floodDatagrams, floodTransfer
	}
	if testing.Short() {
		t.Skip("-short")
	}
	src := startSource(t)
	pc := listenUDP(t)
	p := startPair(t, pairSetup{
		serverPCs: []net.PacketConn{pc},
		server:    func(c *config.Server) { c.Target = src },
		client:    func(c *config.Client) { c.SndWnd, c.RcvWnd = 1024, 1024 },
	})
	if err := fetchChecked(p.dial(t), 1, 1<<20); err != nil { // warm up: buffers, pools, session
		t.Fatal(err)
	}
	before := sampleMemory()
	peak := watchPeak(t)
	dropsBefore := udpRcvbufErrors()

	// Transfers follow one another until the flood is over, so that every
	// datagram arrives while one runs.
	start := time.Now()
	floodDone, transfersDone := make(chan struct{}), make(chan struct{})
	var (
		err       error
		transfers int
	)
	go func() {
		defer close(transfersDone)
		for {
			if err = fetchChecked(p.dial(t), uint32(10+transfers), transfer); err != nil {
				return
			}
			transfers++
			select {
			case <-floodDone:
				return
			default:
			}
		}
	}()
	sent, sentBytes := sendFlood(t, pc.LocalAddr().(*net.UDPAddr), datagrams, transfersDone)
	floodTime := time.Since(start)
	close(floodDone)
	<-transfersDone
	if err != nil {
		t.Fatalf("transfer %d during the flood: %v", transfers+1, err)
	}
	after := peak()
	t.Logf("the kernel dropped %d datagrams on full receive buffers meanwhile", udpRcvbufErrors()-dropsBefore)
	t.Logf("flood: %d datagrams (%d MB) in %v, during %d transfers of %d MB each that took %v in all", sent, sentBytes>>20,
		floodTime.Round(time.Millisecond), transfers, transfer>>20, time.Since(start).Round(time.Millisecond))
	t.Logf("memory before: %s; peak during: %s", before, after)
	if grew := after.rss - before.rss; grew >= floodRSSBudget {
		t.Errorf("RSS grew by %d MB during the flood, budget %d MB", grew>>20, floodRSSBudget>>20)
	}
	// The server still serves new connections.
	if err := fetchChecked(p.dial(t), 3, 1<<20); err != nil {
		t.Fatalf("after the flood: %v", err)
	}
}

// sendFlood sends n random datagrams to dst at floodRate from floodSenders
// sockets, each on its own 127.0.0.x address (all of 127/8 is local on
// Linux), or fewer if stop is closed first. Sizes
// are uniform over 0..floodMaxDatagram half of the time and over 0..1500
// (whole packets kcp-go reads in full) the other half.
func sendFlood(t *testing.T, dst *net.UDPAddr, n int, stop <-chan struct{}) (sent int, bytes int64) {
	const ticks = 100 // bursts per second and sender
	burst := max(1, floodRate/floodSenders/ticks)
	noise := make([]byte, floodMaxDatagram)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	var wg sync.WaitGroup
	var count, total atomic.Int64
	per := n / floodSenders
	for s := range floodSenders {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(2+s))})
		if err != nil {
			t.Fatalf("sender on 127.0.0.%d: %v", 2+s, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			rng := rand.New(rand.NewPCG(uint64(s), 1))
			tick := time.NewTicker(time.Second / ticks)
			defer tick.Stop()
			for i := range per {
				if i%burst == 0 {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
				size := rng.IntN(1501)
				switch {
				case i == 0:
					size = 0
				case i == 1:
					size = floodMaxDatagram
				case i%2 == 0:
					size = rng.IntN(floodMaxDatagram + 1)
				}
				off := rng.IntN(len(noise) - size + 1)
				if _, err := conn.WriteToUDP(noise[off:off+size], dst); err == nil {
					count.Add(1)
					total.Add(int64(size))
				}
			}
		}()
	}
	wg.Wait()
	return int(count.Load()), total.Load()
}

// startSource serves a download target until the test ends: for a
// request header (seed u32, length u32) it streams length bytes made of
// chunks testnet.Pattern(seed+i, chunkLen), never holding more than a
// chunk.
func startSource(t *testing.T) string {
	ln := listenTCP(t)
	testnet.ServeEach(t, ln, func(c net.Conn) {
		var h [8]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return
		}
		seed, n := binary.BigEndian.Uint32(h[:4]), int(binary.BigEndian.Uint32(h[4:]))
		for i := 0; n > 0; i++ {
			chunk := testnet.Pattern(seed+uint32(i), min(n, chunkLen))
			if _, err := c.Write(chunk); err != nil {
				return
			}
			n -= len(chunk)
		}
	})
	return ln.Addr().String()
}

// fetchChecked asks the source for n bytes over c and checks each chunk.
func fetchChecked(c net.Conn, seed uint32, n int) error {
	defer c.Close()
	var h [8]byte
	binary.BigEndian.PutUint32(h[:4], seed)
	binary.BigEndian.PutUint32(h[4:], uint32(n))
	if _, err := c.Write(h[:]); err != nil {
		return err
	}
	buf := make([]byte, chunkLen)
	for i, got := 0, 0; got < n; i++ {
		m := min(n-got, chunkLen)
		if _, err := io.ReadFull(c, buf[:m]); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", got, n, err)
		}
		if err := testnet.Compare(buf[:m], testnet.Pattern(seed+uint32(i), m)); err != nil {
			return fmt.Errorf("chunk %d (at byte %d): %w", i, got, err)
		}
		got += m
	}
	return nil
}

// memSample is the process's resident set and the Go heap at a moment.
type memSample struct {
	rss, heap int64
}

func (m memSample) String() string {
	return fmt.Sprintf("RSS %d MB, Go heap %d MB", m.rss>>20, m.heap>>20)
}

func sampleMemory() memSample {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return memSample{rss: vmRSS(), heap: int64(s[0].Value.Uint64())}
}

// vmRSS reads VmRSS from /proc/self/status (0 where there is none).
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// udpRcvbufErrors is the host's count of UDP datagrams dropped on a full
// socket receive buffer (0 where /proc/net/snmp does not exist).
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				return n
			}
		}
	}
	return 0
}

// watchPeak samples memory every 20 ms until the returned func is
// called, which returns the largest values seen.
func watchPeak(t *testing.T) func() memSample {
	stop, done := make(chan struct{}), make(chan memSample, 1)
	go func() {
		var peak memSample
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			m := sampleMemory()
			peak.rss, peak.heap = max(peak.rss, m.rss), max(peak.heap, m.heap)
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	stopFn := func() { once.Do(func() { close(stop) }) }
	t.Cleanup(stopFn)
	return func() memSample {
		stopFn()
		return <-done
	}
}
