package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
)

// fakeCPU is a process whose CPU time the test sets.
type fakeCPU struct {
	now  time.Time
	used time.Duration
	sets []int
}

func (f *fakeCPU) cpu() time.Duration { return f.used }
func (f *fakeCPU) set(n int)          { f.sets = append(f.sets, n) }

// run takes a sample after each second of the given cores of CPU use.
func (f *fakeCPU) run(s *procScaler, cores ...float64) {
	for _, c := range cores {
		f.now = f.now.Add(time.Second)
		f.used += time.Duration(c * float64(time.Second))
		s.step(f.now)
	}
}

func scalerOn(f *fakeCPU, max int) *procScaler {
	s := &procScaler{max: max, cpu: f.cpu, set: f.set, log: slog.New(slog.NewTextHandler(io.Discard, nil)), n: procsLow}
	f.now = time.Unix(1000, 0)
	s.step(f.now)
	return s
}

func TestProcScalerUsesEveryCPUOnlyWhileOneIsNotEnough(t *testing.T) {
	f := &fakeCPU{}
	s := scalerOn(f, 4)
	f.run(s, 0.5, 0.95, 0.3, 0.95, 0.2) // busy seconds, not in a row
	if len(f.sets) != 0 {
		t.Fatalf("changed to %v on single busy seconds", f.sets)
	}
	f.run(s, 0.95, 0.97) // a core's worth two seconds running: the work needs more
	if !slices.Equal(f.sets, []int{4}) {
		t.Fatalf("Ps set to %v, want [4]", f.sets)
	}
	f.run(s, 1.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.8) // nine calm seconds, then not
	if len(f.sets) != 1 {
		t.Fatalf("Ps set to %v before ten calm seconds in a row", f.sets)
	}
	f.run(s, slices.Repeat([]float64{0.4}, procsCalmFor)...)
	if !slices.Equal(f.sets, []int{4, 1}) {
		t.Fatalf("Ps set to %v, want [4 1]: ten calm seconds fit on one", f.sets)
	}
}

func TestProcScalerLeavesAnExplicitGOMAXPROCS(t *testing.T) {
	f := &fakeCPU{}
	env := func(k string) string {
		if k == "GOMAXPROCS" {
			return "3"
		}
		return ""
	}
	if s := newProcScaler(env, f.cpu, f.set, slog.New(slog.NewTextHandler(io.Discard, nil))); s != nil || len(f.sets) != 0 {
		t.Fatalf("scaler %v, Ps set to %v: GOMAXPROCS in the environment is the user's", s, f.sets)
	}
	if s := newProcScaler(func(string) string { return "" }, nil, f.set, nil); s != nil {
		t.Fatal("a scaler with no CPU reading")
	}
}

func TestProcessCPUGrowsWithWork(t *testing.T) {
	cpu := processCPU()
	if cpu == nil {
		t.Skip("this platform's CPU time is not read (the scaler is off here)")
	}
	before, start := cpu(), time.Now()
	x := 0
	for time.Since(start) < 50*time.Millisecond {
		for i := range 100_000 {
			x += i
		}
	}
	_ = x
	if got := cpu() - before; got < 20*time.Millisecond {
		t.Fatalf("50 ms of work read as %v of CPU", got)
	}
}

// procsProbe is a Service that reports the Ps it runs with and serves
// until it is shut down.
type procsProbe struct {
	seen chan int
	done chan struct{}
}

func (p procsProbe) ListenAndServe() error {
	p.seen <- runtime.GOMAXPROCS(0)
	<-p.done
	return nil
}
func (p procsProbe) Shutdown(context.Context) error { close(p.done); return nil }
func (p procsProbe) Close() error                   { return nil }

// TestRunServesOnOneProcessorAndGivesTheRestBack: a tunnel starts on one
// P and, once it stops, the runtime has its own choice back.
func TestRunServesOnOneProcessorAndGivesTheRestBack(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment: Run leaves it as set")
	}
	before := runtime.GOMAXPROCS(0)
	if before < 2 {
		t.Skip("one CPU: there is nothing to scale")
	}
	svc := procsProbe{seen: make(chan int, 1), done: make(chan struct{})}
	c := &config.Common{Log: filepath.Join(t.TempDir(), "tunnel.log")}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, c, nil, nil, func(*slog.Logger) (Service, error) { return svc, nil }) }()
	got := <-svc.seen
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if got != 1 {
		t.Errorf("served with GOMAXPROCS %d, want 1", got)
	}
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Errorf("GOMAXPROCS %d after Run, want the runtime's %d back", after, before)
	}
}
