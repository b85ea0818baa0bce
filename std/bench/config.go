package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/kcptun-go/tunnel/std/netem"
)

// Workloads selects what a scenario runs.
type Workloads struct {
	IdleEcho   bool `json:"idle_echo"`   // echo probes with nothing else running
	Download   bool `json:"download"`    // one large download
	LoadedEcho bool `json:"loaded_echo"` // echo probes while the download runs
	Parallel   bool `json:"parallel"`    // many downloads at once
	IdleConns  bool `json:"idle_conns"`  // many idle connections held open, for their memory
}

// AllWorkloads runs everything.
var AllWorkloads = Workloads{IdleEcho: true, Download: true, LoadedEcho: true, Parallel: true, IdleConns: true}

// Scenario is one emulated link (the same both ways) and the workloads to
// run over it.
type Scenario struct {
	Name      string     `json:"name"`
	Group     string     `json:"group"`              // GroupProfile, GroupSpec or GroupSweep
	Spec      netem.Spec `json:"spec"`               // the link, both directions
	LossPct   float64    `json:"loss_pct,omitempty"` // the sweep's x value
	Workloads Workloads  `json:"workloads"`
}

// Scenario groups.
const (
	GroupProfile = "profile" // a named netem profile
	GroupSpec    = "spec"    // an ad-hoc spec string
	GroupSweep   = "sweep"   // one point of the loss sweep
)

// ProfileScenario is the named netem profile with workloads w.
func ProfileScenario(name string, w Workloads) (Scenario, error) {
	spec, err := netem.Profile(name)
	if err != nil {
		return Scenario{}, err
	}
	return Scenario{Name: name, Group: GroupProfile, Spec: spec, Workloads: w}, nil
}

// SpecScenario is a named profile or an ad-hoc spec string (see
// netem.ParseSpec).
func SpecScenario(s string, w Workloads) (Scenario, error) {
	if sc, err := ProfileScenario(s, w); err == nil {
		return sc, nil
	}
	spec, err := netem.ParseSpec(s)
	if err != nil {
		return Scenario{}, err
	}
	return Scenario{Name: s, Group: GroupSpec, Spec: spec, Workloads: w}, nil
}

// SweepBase is the profile whose rate, delay and jitter the loss sweep
// keeps while it varies the loss.
const SweepBase = "lossy"

// SweepScenarios are the loss sweep's points: the SweepBase profile with
// its loss set to each percentage, running the download with loaded echo.
func SweepScenarios(lossPcts []float64) ([]Scenario, error) {
	base, err := netem.Profile(SweepBase)
	if err != nil {
		return nil, err
	}
	var out []Scenario
	for _, pct := range lossPcts {
		if pct < 0 || pct > 100 {
			return nil, fmt.Errorf("%w: sweep loss %v%% outside 0–100", ErrUsage, pct)
		}
		spec := base
		spec.Loss = pct / 100
		out = append(out, Scenario{
			Name: fmt.Sprintf("%s loss=%g%%", SweepBase, pct), Group: GroupSweep, Spec: spec, LossPct: pct,
			Workloads: Workloads{Download: true, LoadedEcho: true},
		})
	}
	return out, nil
}

// DefaultSweep is the loss sweep's percentages.
var DefaultSweep = []float64{0, 2, 5, 10, 15, 20}

// Config is one bench run.
type Config struct {
	Pairs     []PairSpec // the tunnels to compare: A, then optionally B
	Baselines []string   // kernel TCP congestion controls to run as baselines (root only), e.g. cubic, bbr
	Scenarios []Scenario
	Rounds    int // each subject runs each scenario this often, alternating (A B A B)

	DownloadSize  int64         // bytes of the single download
	Streams       int           // parallel downloads in the parallel workload
	IdleConns     int           // connections held open at once in the idle-connections workload
	StreamSize    int64         // bytes per parallel download
	ProbeInterval time.Duration // between echo probes (50 ms = 20 Hz)
	IdleProbes    int           // echo probes in the idle measurement
	TimeLimit     time.Duration // stops a download or parallel batch still running (0: none); goodput counts what arrived

	Seed         uint64        // base seed of the emulated links (the same for every subject of a round)
	StartTimeout time.Duration // for a pair to carry its first probe
	RunTimeout   time.Duration // for one subject's run of one scenario (0: none)
	Env          []string      // the binaries' environment; nil inherits the bench's
	Progress     io.Writer     // one line per run; nil for none
	// Checkpoint, when set, gets the report so far after every run (to save
	// partial results of a long bench).
	Checkpoint func(*Report)
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.Rounds <= 0 {
		c.Rounds = 1
	}
	if c.DownloadSize <= 0 {
		c.DownloadSize = 16 << 20
	}
	if c.Streams <= 0 {
		c.Streams = 100
	}
	if c.IdleConns <= 0 {
		c.IdleConns = 500
	}
	if c.StreamSize <= 0 {
		c.StreamSize = 512 << 10
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 50 * time.Millisecond
	}
	if c.IdleProbes <= 0 {
		c.IdleProbes = 40
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 20 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}
