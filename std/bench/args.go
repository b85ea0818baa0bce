package bench

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kcptun-go/tunnel/std/netem"
)

// DefaultTunnelArgs are the tunnel flags both ends get unless --args says
// otherwise.
var DefaultTunnelArgs = []string{"--crypt", "aes", "--mode", "fast3", "--key", "bench-key", "--quiet"}

// Command is the parsed command line of the bench.
type Command struct {
	Config Config
	// BuildA and BuildB say that pair A or B is this repository's client and
	// server, to be built before the run (no --client-bin/--server-bin).
	BuildA, BuildB bool
	JSON, Plot     string // output files; "" for none
	From           string // a report JSON to print and plot instead of running
	Args           []string
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// sizeFlag reads byte counts such as 64MB, 512KB or 1048576.
type sizeFlag struct{ n *int64 }

func (s sizeFlag) String() string {
	if s.n == nil {
		return ""
	}
	return sizeString(*s.n)
}
func (s sizeFlag) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

// ParseSize reads a byte count with an optional binary unit: B, KB, MB,
// GB (KiB, MiB, GiB accepted too), e.g. "64MB" = 64 × 2^20.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w: size %q: want a positive number of bytes like 64MB or 512KB", ErrUsage, s)
	}
	return int64(v * float64(mult)), nil
}

// ParseLossList reads comma-separated loss percentages ("0,2,5,10").
func ParseLossList(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSuffix(strings.TrimSpace(f), "%")
		if f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v < 0 || v > 100 {
			return nil, fmt.Errorf("%w: sweep loss %q: want percentages in 0–100 like 0,2,5,10", ErrUsage, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseArgs reads the bench's flags (args without the program name). With
// no flags it is the quick default: this repository's pair over the lossy
// profile, a 16 MB download and echo probes. --full runs every profile,
// the loss sweep, the parallel streams, 500 idle connections, 64 MB
// downloads, 3 rounds and the kernel TCP baselines (as root); explicit
// flags override those. Flags after "--" are passed to both ends of
// every pair.
func ParseArgs(args []string, stderr io.Writer) (Command, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		profiles               multiFlag
		cmd                    Command
		full                   = fs.Bool("full", false, "every profile, the loss sweep, parallel streams, 500 idle connections, 64MB downloads, 3 rounds, kernel TCP baselines (root)")
		sweep                  = fs.String("sweep", "", "loss sweep percentages on the lossy profile, e.g. 0,2,5,10,15,20 (\"\" none; --full: "+floatsString(DefaultSweep)+")")
		rounds                 = fs.Int("rounds", 1, "rounds per scenario (A B A B …; --full: 3)")
		size                   = int64(16 << 20)
		streamSize             = int64(512 << 10)
		streams                = fs.Int("streams", 0, "parallel downloads in the parallel workload, 0 = skip it (--full: 100)")
		idleConns              = fs.Int("idle-conns", 0, "idle connections held open at once to measure the memory each costs the client and server, 0 = skip it (--full: 500)")
		idle                   = fs.Int("probes", 40, "idle echo probes")
		interval               = fs.Duration("probe-interval", 50*time.Millisecond, "echo probe interval")
		clientBin, serverBin   = fs.String("client-bin", "", "client binary of pair A (default: build ./client)"), fs.String("server-bin", "", "server binary of pair A (default: build ./server)")
		bClientBin, bServerBin = fs.String("b-client-bin", "", "client binary of pair B"), fs.String("b-server-bin", "", "server binary of pair B")
		aArgs                  = fs.String("args", strings.Join(DefaultTunnelArgs, " "), "tunnel flags of pair A (space-separated)")
		bArgs                  = fs.String("b-args", "", "tunnel flags of pair B (default: those of A); giving it alone compares this repository's pair with two flag sets")
		baselines              = fs.String("tcp-baseline", "", "kernel TCP congestion controls to run as baselines through TUN devices (root), e.g. cubic,bbr (--full: cubic,bbr)")
		seed                   = fs.Uint64("seed", 1, "base seed of the emulated links")
		runTimeout             = fs.Duration("run-timeout", 10*time.Minute, "limit for one subject's run of one scenario")
		timeLimit              = fs.Duration("time-limit", 60*time.Second, "stop a download or parallel batch after this long and count what arrived (0: none)")
	)
	fs.Var(&profiles, "profile", "link profile ("+strings.Join(netem.ProfileNames(), ", ")+", all) or spec like \"rate=50mbit,delay=40ms,loss=2%\" or \"lossy,loss=5%\"; repeatable (default lossy; --full: all)")
	fs.Var(sizeFlag{&size}, "size", "download size (--full: 64MB)")
	fs.Var(sizeFlag{&streamSize}, "stream-size", "size of each parallel download")
	fs.StringVar(&cmd.JSON, "json", "", "write the report as JSON to this file")
	fs.StringVar(&cmd.From, "from", "", "print and plot the report in this JSON file (written by --json) instead of running")
	fs.StringVar(&cmd.Plot, "plot", "", "draw goodput and loaded RTT per profile and goodput over the loss sweep into this PNG file")
	if err := fs.Parse(args); err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	passThrough := fs.Args()

	if *full {
		if !set["profile"] {
			profiles = multiFlag{"all"}
		}
		if !set["sweep"] {
			*sweep = floatsString(DefaultSweep)
		}
		if !set["rounds"] {
			*rounds = 3
		}
		if !set["size"] {
			size = 64 << 20
		}
		if !set["streams"] {
			*streams = 100
		}
		if !set["idle-conns"] {
			*idleConns = 500
		}
		if !set["tcp-baseline"] && os.Geteuid() == 0 {
			*baselines = "cubic,bbr"
		}
	}
	if len(profiles) == 0 && !set["sweep"] {
		profiles = multiFlag{SweepBase}
	}
	w := Workloads{IdleEcho: true, Download: true, LoadedEcho: true, Parallel: *streams > 0, IdleConns: *idleConns > 0}
	cfg := Config{
		Rounds: *rounds, DownloadSize: size, Streams: *streams, IdleConns: *idleConns, StreamSize: streamSize,
		ProbeInterval: *interval, IdleProbes: *idle, Seed: *seed, RunTimeout: *runTimeout, TimeLimit: *timeLimit,
	}
	for _, p := range profiles {
		names := []string{p}
		if strings.EqualFold(p, "all") {
			names = netem.ProfileNames()
		}
		for _, n := range names {
			sc, err := SpecScenario(n, w)
			if err != nil {
				return Command{}, fmt.Errorf("%w: --profile %q: %w", ErrUsage, n, err)
			}
			cfg.Scenarios = append(cfg.Scenarios, sc)
		}
	}
	losses, err := ParseLossList(*sweep)
	if err != nil {
		return Command{}, err
	}
	sw, err := SweepScenarios(losses)
	if err != nil {
		return Command{}, err
	}
	cfg.Scenarios = append(cfg.Scenarios, sw...)
	if len(cfg.Scenarios) == 0 {
		return Command{}, fmt.Errorf("%w: no scenario (give --profile or --sweep)", ErrUsage)
	}

	a := PairSpec{Name: "A", Client: *clientBin, Server: *serverBin, Args: append(strings.Fields(*aArgs), passThrough...)}
	if (a.Client == "") != (a.Server == "") {
		return Command{}, fmt.Errorf("%w: give both --client-bin and --server-bin, or neither", ErrUsage)
	}
	cmd.BuildA = a.Client == ""
	cfg.Pairs = []PairSpec{a}
	if *bClientBin != "" || *bServerBin != "" || set["b-args"] {
		b := PairSpec{Name: "B", Client: *bClientBin, Server: *bServerBin, Args: a.Args}
		if set["b-args"] {
			b.Args = append(strings.Fields(*bArgs), passThrough...)
		}
		if (b.Client == "") != (b.Server == "") {
			return Command{}, fmt.Errorf("%w: give both --b-client-bin and --b-server-bin, or neither", ErrUsage)
		}
		cmd.BuildB = b.Client == ""
		cfg.Pairs = append(cfg.Pairs, b)
	}
	for cc := range strings.SplitSeq(*baselines, ",") {
		if cc = strings.TrimSpace(cc); cc != "" {
			cfg.Baselines = append(cfg.Baselines, cc)
		}
	}
	cmd.Config = cfg
	cmd.Args = args
	return cmd, nil
}

func floatsString(fs []float64) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
