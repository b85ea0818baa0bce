package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kcptun-go/tunnel/std/netem"
)

// Report is everything a bench run measured.
type Report struct {
	Started   time.Time      `json:"started"`
	Seconds   float64        `json:"seconds"` // wall time of the whole run
	Command   []string       `json:"command,omitempty"`
	Host      Host           `json:"host"`
	Settings  Settings       `json:"settings"`
	Pairs     []PairSpec     `json:"pairs"`
	Scenarios []ScenarioInfo `json:"scenarios"`
	Subjects  []string       `json:"subjects"` // pair names, then tcp-<cc> baselines
	Runs      []RunResult    `json:"runs"`
	Summaries []Summary      `json:"summaries"`
	Ratios    []RatioRow     `json:"ratios,omitempty"`
	Notes     []string       `json:"notes,omitempty"`
}

// Host describes the machine the bench ran on.
type Host struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
}

// Settings are the workload sizes of the run.
type Settings struct {
	Rounds          int     `json:"rounds"`
	DownloadBytes   int64   `json:"download_bytes"`
	Streams         int     `json:"streams"`
	StreamBytes     int64   `json:"stream_bytes"`
	ProbeIntervalMs float64 `json:"probe_interval_ms"`
	IdleProbes      int     `json:"idle_probes"`
	IdleConns       int     `json:"idle_conns,omitempty"` // connections the idle-connections workload holds open
	TimeLimitS      float64 `json:"time_limit_s,omitempty"`
	Seed            uint64  `json:"seed"`
}

// ScenarioInfo is a scenario with its link written as a spec string.
type ScenarioInfo struct {
	Scenario
	Link string `json:"link"`
}

// RunResult is one subject's run of one scenario. Zero values mean "not
// measured".
type RunResult struct {
	Scenario       string      `json:"scenario"`
	Subject        string      `json:"subject"`
	Round          int         `json:"round"`
	Verified       bool        `json:"verified"` // every workload's bytes arrived complete and unaltered
	Error          string      `json:"error,omitempty"`
	Seconds        float64     `json:"seconds"` // wall time including start-up
	IdleRTT        *RTT        `json:"idle_rtt,omitempty"`
	LoadedRTT      *RTT        `json:"loaded_rtt,omitempty"`
	Download       *Goodput    `json:"download,omitempty"`
	Parallel       *Goodput    `json:"parallel,omitempty"`
	ClientCPU      float64     `json:"client_cpu_s,omitempty"` // during the download
	ServerCPU      float64     `json:"server_cpu_s,omitempty"`
	CPUPerGB       float64     `json:"cpu_s_per_gb,omitempty"`       // client + server CPU seconds per GB downloaded
	ClientRSSMB    float64     `json:"client_peak_rss_mb,omitempty"` // VmHWM at the end of the run
	ServerRSSMB    float64     `json:"server_peak_rss_mb,omitempty"`
	IdleConns      int         `json:"idle_conns,omitempty"`              // idle connections held open at once
	ClientIdleKB   float64     `json:"client_idle_kb_per_conn,omitempty"` // VmRSS growth while they were held, KiB per connection
	ServerIdleKB   float64     `json:"server_idle_kb_per_conn,omitempty"`
	WirePerPayload float64     `json:"wire_per_payload,omitempty"` // IP packet bytes both ways per downloaded byte
	Link           LinkSummary `json:"link"`
}

// Goodput is a verified transfer.
type Goodput struct {
	Streams  int     `json:"streams"`
	Complete bool    `json:"complete"` // false: the time limit stopped it; Bytes is what arrived
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	Mbps     float64 `json:"mbps"`
}

// LinkSummary is what the emulated link did during a run, and how late
// its deliveries were (the emulator's own error).
type LinkSummary struct {
	PacketsUp     uint64  `json:"packets_up"`
	PacketsDown   uint64  `json:"packets_down"`
	LossDrops     uint64  `json:"loss_drops"`
	QueueDrops    uint64  `json:"queue_drops"`
	LatenessP99us float64 `json:"lateness_p99_us"`
	LatenessMaxus float64 `json:"lateness_max_us"`
	// HostDrops counts packets lost on the host before the emulator
	// (socket buffers, TUN queue): loss the profile did not ask for.
	HostDrops *uint64 `json:"host_drops,omitempty"`
}

func summarizeLink(s netem.Stats) LinkSummary {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return LinkSummary{
		PacketsUp:     s.Up.In,
		PacketsDown:   s.Down.In,
		LossDrops:     s.Up.LossDrops + s.Down.LossDrops,
		QueueDrops:    s.Up.QueueDrops + s.Down.QueueDrops,
		LatenessP99us: max(us(s.Up.Lateness.P99), us(s.Down.Lateness.P99)),
		LatenessMaxus: max(us(s.Up.Lateness.Max), us(s.Down.Lateness.Max)),
	}
}

// wireBytes is what both endpoints put on the link, as IP packet bytes:
// the counted bytes plus hdr per packet.
func wireBytes(s netem.Stats, hdr uint64) uint64 {
	return s.Up.BytesIn + s.Down.BytesIn + hdr*(s.Up.In+s.Down.In)
}

// Summary holds the medians of one subject's verified runs of a scenario,
// keyed by metric (see Metrics).
type Summary struct {
	Scenario string `json:"scenario"`
	Subject  string `json:"subject"`
	Runs     int    `json:"runs"`
	Failed   int    `json:"failed"`
	// Verified runs whose download or parallel batch the time limit stopped.
	TruncatedDownloads int                `json:"truncated_downloads,omitempty"`
	TruncatedParallel  int                `json:"truncated_parallel,omitempty"`
	Metrics            map[string]float64 `json:"metrics"`
}

// RatioRow compares a subject with the reference subject (the first, A)
// on one scenario: Ratios[m] = subject's median / reference's median.
type RatioRow struct {
	Scenario  string             `json:"scenario"`
	Subject   string             `json:"subject"`
	Reference string             `json:"reference"`
	Ratios    map[string]float64 `json:"ratios"`
}

// Metric is one number a run yields.
type Metric struct {
	Key   string
	Label string
	Get   func(r *RunResult) (float64, bool)
}

// Metrics are the summarised numbers, in table order.
var Metrics = []Metric{
	{"download_mbps", "goodput Mbit/s", func(r *RunResult) (float64, bool) { return goodputOf(r.Download) }},
	{"idle_rtt_p50_ms", "idle RTT p50 ms", func(r *RunResult) (float64, bool) { return rttOf(r.IdleRTT, 0.5) }},
	{"idle_rtt_p99_ms", "idle RTT p99 ms", func(r *RunResult) (float64, bool) { return rttOf(r.IdleRTT, 0.99) }},
	{"loaded_rtt_p50_ms", "loaded RTT p50 ms", func(r *RunResult) (float64, bool) { return rttOf(r.LoadedRTT, 0.5) }},
	{"loaded_rtt_p90_ms", "loaded RTT p90 ms", func(r *RunResult) (float64, bool) { return rttOf(r.LoadedRTT, 0.9) }},
	{"loaded_rtt_p99_ms", "loaded RTT p99 ms", func(r *RunResult) (float64, bool) { return rttOf(r.LoadedRTT, 0.99) }},
	{"parallel_s", "parallel s", func(r *RunResult) (float64, bool) {
		if r.Parallel == nil {
			return 0, false
		}
		return r.Parallel.Seconds, true
	}},
	{"parallel_mbps", "parallel Mbit/s", func(r *RunResult) (float64, bool) { return goodputOf(r.Parallel) }},
	{"cpu_s_per_gb", "CPU s/GB", func(r *RunResult) (float64, bool) { return r.CPUPerGB, r.CPUPerGB > 0 }},
	{"client_rss_mb", "client RSS MB", func(r *RunResult) (float64, bool) { return r.ClientRSSMB, r.ClientRSSMB > 0 }},
	{"server_rss_mb", "server RSS MB", func(r *RunResult) (float64, bool) { return r.ServerRSSMB, r.ServerRSSMB > 0 }},
	{"client_idle_kb", "client KiB per idle conn", func(r *RunResult) (float64, bool) { return r.ClientIdleKB, r.ClientIdleKB != 0 }},
	{"server_idle_kb", "server KiB per idle conn", func(r *RunResult) (float64, bool) { return r.ServerIdleKB, r.ServerIdleKB != 0 }},
	{"wire_per_payload", "wire/payload", func(r *RunResult) (float64, bool) { return r.WirePerPayload, r.WirePerPayload > 0 }},
	{"link_lateness_p99_us", "emulator lateness p99 µs", func(r *RunResult) (float64, bool) {
		return r.Link.LatenessP99us, r.Link.PacketsDown > 0
	}},
}

func goodputOf(g *Goodput) (float64, bool) {
	if g == nil {
		return 0, false
	}
	return g.Mbps, true
}

func rttOf(r *RTT, q float64) (float64, bool) {
	if r == nil || r.Count == 0 {
		return 0, false
	}
	switch q {
	case 0.5:
		return r.P50, true
	case 0.9:
		return r.P90, true
	default:
		return r.P99, true
	}
}

func newReport(cfg Config) *Report {
	rep := &Report{
		Started: time.Now(),
		Host:    hostInfo(),
		Settings: Settings{
			Rounds: cfg.Rounds, DownloadBytes: cfg.DownloadSize, Streams: cfg.Streams, StreamBytes: cfg.StreamSize,
			ProbeIntervalMs: float64(cfg.ProbeInterval) / float64(time.Millisecond), IdleProbes: cfg.IdleProbes, Seed: cfg.Seed,
			TimeLimitS: cfg.TimeLimit.Seconds(),
		},
		Pairs: cfg.Pairs,
	}
	for _, sc := range cfg.Scenarios {
		rep.Scenarios = append(rep.Scenarios, ScenarioInfo{Scenario: sc, Link: SpecString(sc.Spec)})
		if sc.Workloads.IdleConns {
			rep.Settings.IdleConns = cfg.IdleConns
		}
	}
	return rep
}

// finish computes the summaries and ratios from the runs.
func (r *Report) finish() *Report {
	r.Seconds = time.Since(r.Started).Seconds()
	r.Summaries = Summarize(r.Runs, r.scenarioNames(), r.Subjects)
	r.Ratios = CompareSubjects(r.Summaries, r.Subjects)
	return r
}

// snapshot is a finished copy of the report so far.
func (r *Report) snapshot() *Report {
	c := *r
	c.Runs = slices.Clone(r.Runs)
	return c.finish()
}

func (r *Report) scenarioNames() []string {
	names := make([]string, len(r.Scenarios))
	for i, s := range r.Scenarios {
		names[i] = s.Name
	}
	return names
}

// Summarize takes the median of every metric over each scenario and
// subject's verified runs, in scenario then subject order.
func Summarize(runs []RunResult, scenarios, subjects []string) []Summary {
	var out []Summary
	for _, sc := range scenarios {
		for _, sub := range subjects {
			s := Summary{Scenario: sc, Subject: sub, Metrics: map[string]float64{}}
			values := map[string][]float64{}
			for i := range runs {
				r := &runs[i]
				if r.Scenario != sc || r.Subject != sub {
					continue
				}
				s.Runs++
				if !r.Verified {
					s.Failed++
					continue
				}
				if r.Download != nil && !r.Download.Complete {
					s.TruncatedDownloads++
				}
				if r.Parallel != nil && !r.Parallel.Complete {
					s.TruncatedParallel++
				}
				for _, m := range Metrics {
					if v, ok := m.Get(r); ok {
						values[m.Key] = append(values[m.Key], v)
					}
				}
			}
			if s.Runs == 0 {
				continue
			}
			for k, vs := range values {
				s.Metrics[k] = Median(vs)
			}
			out = append(out, s)
		}
	}
	return out
}

// CompareSubjects divides every subject's medians by the first subject's,
// per scenario.
func CompareSubjects(sums []Summary, subjects []string) []RatioRow {
	if len(subjects) < 2 {
		return nil
	}
	ref := subjects[0]
	byKey := map[[2]string]Summary{}
	for _, s := range sums {
		byKey[[2]string{s.Scenario, s.Subject}] = s
	}
	var out []RatioRow
	for _, s := range sums {
		if s.Subject == ref {
			continue
		}
		a, ok := byKey[[2]string{s.Scenario, ref}]
		if !ok {
			continue
		}
		row := RatioRow{Scenario: s.Scenario, Subject: s.Subject, Reference: ref, Ratios: map[string]float64{}}
		for k, v := range s.Metrics {
			if q, ok := Ratio(v, a.Metrics[k]); ok {
				row.Ratios[k] = q
			}
		}
		out = append(out, row)
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: read json: %w", err)
	}
	return &r, nil
}

func (r RunResult) progressLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-22s %-10s round %d:", r.Scenario, r.Subject, r.Round)
	if r.Download != nil {
		fmt.Fprintf(&b, " %.1f Mbit/s", r.Download.Mbps)
	}
	if r.IdleRTT != nil {
		fmt.Fprintf(&b, " idle p50 %.1f ms", r.IdleRTT.P50)
	}
	if r.LoadedRTT != nil {
		fmt.Fprintf(&b, " loaded p50/p99 %.0f/%.0f ms", r.LoadedRTT.P50, r.LoadedRTT.P99)
	}
	if r.Parallel != nil {
		fmt.Fprintf(&b, " %d streams %.1f s", r.Parallel.Streams, r.Parallel.Seconds)
	}
	if r.IdleConns > 0 {
		fmt.Fprintf(&b, " %d idle conns", r.IdleConns)
		if r.ClientIdleKB != 0 || r.ServerIdleKB != 0 {
			fmt.Fprintf(&b, " %.1f/%.1f KiB each client/server", r.ClientIdleKB, r.ServerIdleKB)
		}
	}
	if (r.Download != nil && !r.Download.Complete) || (r.Parallel != nil && !r.Parallel.Complete) {
		b.WriteString(" (time limit reached)")
	}
	fmt.Fprintf(&b, " (%.0f s, emulator late p99 %.0f µs)", r.Seconds, r.Link.LatenessP99us)
	if r.Error != "" {
		fmt.Fprintf(&b, " FAILED: %s", r.Error)
	}
	return b.String()
}

// SpecString writes a link spec in netem.ParseSpec's syntax.
func SpecString(s netem.Spec) string {
	if s.IsClean() {
		return "no impairment"
	}
	var f []string
	if s.Rate > 0 {
		f = append(f, "rate="+rateString(s.Rate))
	}
	if s.Delay > 0 {
		f = append(f, "delay="+s.Delay.String())
	}
	if s.Jitter > 0 {
		f = append(f, "jitter="+s.Jitter.String())
	}
	if s.Loss > 0 {
		f = append(f, "loss="+pct(s.Loss))
	}
	if s.GE.Enabled() {
		f = append(f, fmt.Sprintf("ge=%s/%s/%s/%s", pct(s.GE.P), pct(s.GE.R), pct(s.GE.LossGood), pct(s.GE.LossBad)))
	}
	if s.Reorder > 0 {
		r := "reorder=" + pct(s.Reorder)
		if s.ReorderGap > 0 {
			r += "/" + s.ReorderGap.String()
		}
		f = append(f, r)
	}
	if s.Duplicate > 0 {
		f = append(f, "dup="+pct(s.Duplicate))
	}
	if s.Rate > 0 && s.Queue > 0 {
		f = append(f, "queue="+s.Queue.String())
	}
	for _, p := range s.Phases {
		rate := "0"
		if p.Rate > 0 {
			rate = rateString(p.Rate)
		}
		f = append(f, fmt.Sprintf("phase=%v/%s/%s", p.After, rate, pct(p.Loss)))
	}
	return strings.Join(f, ",")
}

func pct(p float64) string { return fmt.Sprintf("%g%%", math.Round(p*1e4)/100) }

func rateString(bps int64) string {
	switch {
	case bps%1e9 == 0:
		return fmt.Sprintf("%dgbit", bps/1e9)
	case bps%1e6 == 0:
		return fmt.Sprintf("%dmbit", bps/1e6)
	case bps%1e3 == 0:
		return fmt.Sprintf("%dkbit", bps/1e3)
	}
	return fmt.Sprintf("%dbit", bps)
}
