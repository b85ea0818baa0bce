package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
)

// Run executes cfg: for every scenario, cfg.Rounds rounds in which every
// subject (the pairs, then the kernel TCP baselines) runs the scenario's
// workloads in turn. A failed run is recorded in its RunResult and the
// bench goes on; Run returns the report together with the joined errors
// of the failed runs. An unavailable baseline is noted in the report and
// skipped.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Pairs) == 0 && len(cfg.Baselines) == 0 {
		return nil, fmt.Errorf("%w: nothing to bench (no pair, no baseline)", ErrUsage)
	}
	rep := newReport(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: target listener: %w", err)
	}
	target := NewTarget(ln)
	go target.Serve()
	defer target.Close()

	var subjects []subject
	for _, p := range cfg.Pairs {
		subjects = append(subjects, &pairSubject{spec: p, target: ln.Addr().String(), env: cfg.Env, timeout: cfg.StartTimeout})
	}
	if len(cfg.Baselines) > 0 {
		base, err := newTCPBaseline(cfg.Baselines)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("kernel TCP baseline skipped: %v", err))
			fmt.Fprintf(cfg.Progress, "kernel TCP baseline skipped: %v\n", err)
		} else {
			defer base.close()
			rep.Notes = append(rep.Notes, base.notes...)
			subjects = append(subjects, base.subjects()...)
		}
	}
	for _, s := range subjects {
		rep.Subjects = append(rep.Subjects, s.name())
	}

	var errs []error
	// Round-major, so that a run stopped early has every scenario measured
	// the same number of times (±1); within a round the subjects take turns
	// on each scenario (A B A B).
	for round := range cfg.Rounds {
		for si, sc := range cfg.Scenarios {
			seed := cfg.Seed + uint64(si)*1000 + uint64(round)
			for _, s := range subjects {
				if err := ctx.Err(); err != nil {
					return rep.finish(), errors.Join(append(errs, err)...)
				}
				res := runOne(ctx, cfg, sc, s, round, seed)
				fmt.Fprintln(cfg.Progress, res.progressLine())
				rep.Runs = append(rep.Runs, res)
				if res.Error != "" {
					errs = append(errs, fmt.Errorf("%s on %s round %d: %s", res.Subject, res.Scenario, round+1, res.Error))
				}
				if cfg.Checkpoint != nil {
					cfg.Checkpoint(rep.snapshot())
				}
			}
		}
	}
	if err := target.SinkErrors(); err != nil {
		errs = append(errs, err)
	}
	return rep.finish(), errors.Join(errs...)
}

// runOne starts s over sc's link and runs sc's workloads in order: the
// idle connections, idle echo, the download (with echo probes alongside),
// the parallel streams.
func runOne(ctx context.Context, cfg Config, sc Scenario, s subject, round int, seed uint64) RunResult {
	res := RunResult{Scenario: sc.Name, Subject: s.name(), Round: round + 1}
	if cfg.RunTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.RunTimeout)
		defer cancel()
	}
	start := time.Now()
	sess, err := s.start(ctx, sc.Spec, seed)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer sess.close()
	err = runWorkloads(ctx, cfg, sc, sess, &res, uint32(seed))
	if err == nil {
		err = sess.alive()
	}
	if sess.peakRSS != nil {
		if c, s, rerr := sess.peakRSS(); rerr == nil {
			res.ClientRSSMB, res.ServerRSSMB = float64(c)/(1<<20), float64(s)/(1<<20)
		}
	}
	res.Link = summarizeLink(sess.linkStats())
	if sess.hostDrops != nil {
		if n, ok := sess.hostDrops(); ok {
			res.Link.HostDrops = &n
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		res.Error = err.Error()
	} else {
		res.Verified = true
	}
	return res
}

func runWorkloads(ctx context.Context, cfg Config, sc Scenario, sess *session, res *RunResult, seed uint32) error {
	w := sc.Workloads
	// The idle connections go first, while the processes' heaps are small:
	// what the connections allocate then shows as RSS growth, where a heap
	// that a download already grew would absorb it without RSS moving.
	if w.IdleConns {
		if err := measureIdleConns(ctx, cfg.IdleConns, sess, res); err != nil {
			return err
		}
	}
	if w.IdleEcho {
		rtts, err := Echo(ctx, sess.dial, cfg.ProbeInterval, cfg.IdleProbes, nil)
		if err != nil {
			return fmt.Errorf("idle echo: %w", err)
		}
		r := SummarizeRTT(rtts)
		res.IdleRTT = &r
	}
	if w.Download {
		if err := measureDownload(ctx, cfg, w.LoadedEcho, sess, res, seed); err != nil {
			return err
		}
	}
	if w.Parallel {
		p, err := Parallel(ctx, sess.dial, cfg.Streams, cfg.StreamSize, seed+1000, cfg.TimeLimit)
		if err != nil {
			return fmt.Errorf("parallel: %w", err)
		}
		res.Parallel = &Goodput{Streams: p.Streams, Complete: p.Complete == p.Streams, Bytes: p.Bytes,
			Seconds: p.Elapsed.Seconds(), Mbps: p.Mbps()}
	}
	return nil
}

// rssReadings and rssSpacing: while the idle connections are held, the
// processes' RSS is read this often, this far apart, and the largest
// reading kept, so that allocations made just after the last echo (timers,
// buffers of the stream's first idle moments) are counted.
const (
	rssReadings = 5
	rssSpacing  = 50 * time.Millisecond
)

// measureIdleConns holds n idle connections open and records how much the
// client's and server's RSS grew per connection (when the session has
// processes to read).
func measureIdleConns(ctx context.Context, n int, sess *session, res *RunResult) error {
	var c0, s0, c1, s1 int64
	measured := sess.rss != nil
	if measured {
		var err error
		c0, s0, err = sess.rss()
		measured = err == nil
	}
	err := HoldIdle(ctx, sess.dial, n, func() {
		if measured {
			var err error
			c1, s1, err = largestRSS(ctx, sess.rss)
			measured = err == nil
		}
	})
	if err != nil {
		return fmt.Errorf("idle conns: %w", err)
	}
	res.IdleConns = n
	if measured {
		res.ClientIdleKB = float64(c1-c0) / 1024 / float64(n)
		res.ServerIdleKB = float64(s1-s0) / 1024 / float64(n)
	}
	return nil
}

// largestRSS reads rss rssReadings times, rssSpacing apart, and returns the
// largest reading of each process.
func largestRSS(ctx context.Context, rss func() (client, server int64, err error)) (client, server int64, err error) {
	tick := time.NewTicker(rssSpacing)
	defer tick.Stop()
	for i := range rssReadings {
		if i > 0 {
			select {
			case <-ctx.Done():
				return 0, 0, ctx.Err()
			case <-tick.C:
			}
		}
		c, s, err := rss()
		if err != nil {
			return 0, 0, err
		}
		client, server = max(client, c), max(server, s)
	}
	return client, server, nil
}

// measureDownload runs the download, with echo probes alongside when
// loaded is set, and records goodput, CPU per GB and wire bytes.
func measureDownload(ctx context.Context, cfg Config, loaded bool, sess *session, res *RunResult, seed uint32) error {
	wireBefore := sess.linkStats()
	var cpuC0, cpuS0 time.Duration
	var cpuErr error
	if sess.usage != nil {
		cpuC0, cpuS0, cpuErr = sess.usage()
	}
	stop := make(chan struct{})
	type echoResult struct {
		rtts []time.Duration
		err  error
	}
	echoDone := make(chan echoResult, 1)
	if loaded {
		go func() {
			rtts, err := Echo(ctx, sess.dial, cfg.ProbeInterval, 0, stop)
			echoDone <- echoResult{rtts, err}
		}()
	}
	t, err := DownloadFor(ctx, sess.dial, cfg.DownloadSize, seed, cfg.TimeLimit)
	close(stop)
	if loaded {
		er := <-echoDone
		if er.err != nil && err == nil {
			err = fmt.Errorf("loaded echo: %w", er.err)
		}
		r := SummarizeRTT(er.rtts)
		res.LoadedRTT = &r
	}
	if err != nil {
		return err
	}
	res.Download = &Goodput{Streams: 1, Complete: t.Complete, Bytes: t.Bytes, Seconds: t.Elapsed.Seconds(), Mbps: t.Mbps()}
	if t.Bytes == 0 {
		return fmt.Errorf("download: %w: no byte arrived within %v", ErrShort, cfg.TimeLimit)
	}
	wire := wireBytes(sess.linkStats(), sess.headerBytes) - wireBytes(wireBefore, sess.headerBytes)
	res.WirePerPayload = float64(wire) / float64(t.Bytes)
	if sess.usage != nil && cpuErr == nil {
		c1, s1, err := sess.usage()
		if err == nil {
			res.ClientCPU, res.ServerCPU = (c1 - cpuC0).Seconds(), (s1 - cpuS0).Seconds()
			res.CPUPerGB = (res.ClientCPU + res.ServerCPU) / (float64(t.Bytes) / 1e9)
		}
	}
	return nil
}

func hostInfo() Host {
	return Host{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
}
