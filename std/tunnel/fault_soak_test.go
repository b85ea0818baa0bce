package tunnel

import (
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/netem"
)

var (
	soak         = flag.Bool("soak", false, "run TestSoak (mixed traffic over a lossy emulated link, -soak.time long)")
	soakTime     = flag.Duration("soak.time", 10*time.Minute, "how long TestSoak runs")
	soakWarmup   = flag.Duration("soak.warmup", 2*time.Minute, "TestSoak: the warm-up before the baseline sample")
	soakLinkSpec = flag.String("soak.link", "loss=2%,delay=5ms,jitter=2ms,reorder=1%/3ms,dup=0.5%",
		"TestSoak: the emulated link, each direction (netem.ParseSpec)")
)

// soakSample is the process at one moment of the soak.
type soakSample struct {
	at         time.Duration
	mem        memSample
	goroutines int
	sessions   int
}

// soakCounters are what the workers did.
type soakCounters struct {
	exchanges, downloads, idles atomic.Int64
	bytes                       atomic.Int64
	errs                        atomic.Int64
	mu                          sync.Mutex
	firstErrs                   []error
}

func (c *soakCounters) fail(err error) {
	c.errs.Add(1)
	c.mu.Lock()
	if len(c.firstErrs) < 10 {
		c.firstErrs = append(c.firstErrs, err)
	}
	c.mu.Unlock()
}

// Mixed traffic through a client and a server in process, joined by a
// relay that loses, delays, reorders and duplicates packets, for
// -soak.time (10 minutes by default; run with -soak, not in CI): no
// exchange may fail or lose a byte, the RSS sampled each minute after the
// warm-up stays within ±20 % of the sample at its end, and the goroutine
// count neither grows nor stays up when the traffic stops.
func TestSoak(t *testing.T) {
	if !*soak {
		t.Skip("the soak test runs with -soak: go test -run '^TestSoak$' -timeout 30m ./std/tunnel/ -args -soak")
	}
	testnet.CheckLeaks(t)
	spec, err := netem.ParseSpec(*soakLinkSpec)
	if err != nil {
		t.Fatal(err)
	}
	log, lb := captureLog(t, slog.LevelWarn)
	srvPC := listenUDP(t)
	source := startSource(t)
	relayPC := listenUDP(t)
	p := startPair(t, pairSetup{
		serverPCs: []net.PacketConn{srvPC},
		server:    func(c *config.Server) { c.Target = source },
		client: func(c *config.Client) {
			c.RemoteAddr = relayPC.LocalAddr().String()
			c.Conn = 2
		},
		log: log,
	})
	// Started after the pair, so that it stops before the pair's leak
	// check: it runs a goroutine per client session.
	relay := startLossyRelay(t, relayPC, srvPC.LocalAddr().(*net.UDPAddr), spec)

	var cnt soakCounters
	stop := make(chan struct{})
	var wg sync.WaitGroup
	workers := []func(rng *rand.Rand){
		func(rng *rand.Rand) { // small request/response
			c, err := net.Dial("tcp", p.local)
			if err != nil {
				cnt.fail(err)
				return
			}
			defer c.Close()
			n := 100 + rng.IntN(20_000)
			if err := soakDownload(c, rng.Uint32(), n); err != nil {
				cnt.fail(fmt.Errorf("small: %w", err))
				return
			}
			cnt.exchanges.Add(1)
			cnt.bytes.Add(int64(n))
		},
		func(rng *rand.Rand) { // bulk download
			c, err := net.Dial("tcp", p.local)
			if err != nil {
				cnt.fail(err)
				return
			}
			defer c.Close()
			n := 1<<20 + rng.IntN(4<<20)
			if err := soakDownload(c, rng.Uint32(), n); err != nil {
				cnt.fail(fmt.Errorf("bulk: %w", err))
				return
			}
			cnt.downloads.Add(1)
			cnt.bytes.Add(int64(n))
		},
		func(rng *rand.Rand) { // a stream left idle for a while, then used
			c, err := net.Dial("tcp", p.local)
			if err != nil {
				cnt.fail(err)
				return
			}
			defer c.Close()
			select {
			case <-time.After(time.Duration(5+rng.IntN(40)) * time.Second): // an idle application
			case <-stop:
			}
			if err := soakDownload(c, rng.Uint32(), 10_000); err != nil {
				cnt.fail(fmt.Errorf("after idling: %w", err))
				return
			}
			cnt.idles.Add(1)
		},
	}
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			work := workers[i%len(workers)]
			for {
				select {
				case <-stop:
					return
				default:
				}
				work(rng)
			}
		}()
	}

	start := time.Now()
	var samples []soakSample
	sample := func() {
		debug.FreeOSMemory() // RSS then tracks what is in use, not what the GC has yet to return
		s := soakSample{at: time.Since(start).Round(time.Second), mem: sampleMemory(), goroutines: runtime.NumGoroutine(),
			sessions: p.server.Sessions()}
		samples = append(samples, s)
		t.Logf("%v: %s, %d goroutines, %d server sessions; %d exchanges, %d downloads, %d idle streams, %d MB, %d errors",
			s.at, s.mem, s.goroutines, s.sessions, cnt.exchanges.Load(), cnt.downloads.Load(), cnt.idles.Load(),
			cnt.bytes.Load()>>20, cnt.errs.Load())
	}
	deadline := time.After(*soakTime)
	var base *soakSample
	select {
	case <-time.After(*soakWarmup):
		sample()
		base = &samples[0]
	case <-deadline:
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
loop:
	for base != nil {
		select {
		case <-tick.C:
			sample()
		case <-deadline:
			break loop
		}
	}
	close(stop)
	wg.Wait()
	sample()

	if n := cnt.errs.Load(); n > 0 {
		t.Errorf("%d exchanges failed; the first: %v\nwarnings:\n%s", n, cnt.firstErrs, lb)
	}
	if base == nil {
		t.Fatal("the soak ended before its warm-up")
	}
	for _, s := range samples[:len(samples)-1] { // the last one is after the traffic stopped
		if d := float64(s.mem.rss-base.mem.rss) / float64(base.mem.rss); d > 0.2 || d < -0.2 {
			t.Errorf("RSS at %v is %d MB, %+.0f%% from the %d MB after the warm-up", s.at, s.mem.rss>>20, 100*d, base.mem.rss>>20)
		}
	}
	last := samples[len(samples)-2] // the last one under load
	if last.goroutines > base.goroutines*3/2+50 {
		t.Errorf("goroutines grew under the same load: %d after the warm-up, %d at the end", base.goroutines, last.goroutines)
	}
	st := relay.Stats()
	t.Logf("link: client→server %+v; server→client %+v", st.Up, st.Down)
}

// soakDownload asks the source for n bytes over c and checks them.
func soakDownload(c net.Conn, seed uint32, n int) error {
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	return fetchChecked(c, seed, n)
}

// startLossyRelay runs a relay on pc with spec both ways in front of
// server until the test ends.
func startLossyRelay(t *testing.T, pc net.PacketConn, server *net.UDPAddr, spec netem.Spec) *netem.Relay {
	t.Helper()
	r, err := netem.NewRelay(pc, server, spec, spec, netem.WithSeed(7))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve() }()
	t.Cleanup(func() { r.Close(); <-served })
	return r
}
