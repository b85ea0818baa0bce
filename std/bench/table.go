package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// WriteTable prints the summaries as a Markdown table (one row per
// scenario and subject), the memory per idle connection when measured,
// the ratios to the first subject when there are several, the links used,
// and any failed runs.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| link | subject | goodput Mbit/s | RTT idle p50 / p99 ms | RTT loaded p50 / p90 / p99 ms |")
	fmt.Fprintf(&b, " %d×%s s (Mbit/s) | CPU s/GB | peak RSS MB client / server | wire / payload | emulator late p99 ms |\n", r.Settings.Streams, sizeString(r.Settings.StreamBytes))
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	truncated := false
	for _, s := range r.Summaries {
		m := s.Metrics
		get := func(k string) float64 {
			if v, ok := m[k]; ok {
				return v
			}
			return math.NaN()
		}
		subject := s.Subject
		if s.Failed > 0 {
			subject += fmt.Sprintf(" (%d/%d failed)", s.Failed, s.Runs)
		}
		dmark, pmark := "", ""
		if s.TruncatedDownloads > 0 {
			dmark, truncated = "*", true
		}
		if s.TruncatedParallel > 0 {
			pmark, truncated = "*", true
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			s.Scenario, subject,
			num(get("download_mbps"), 1)+dmark,
			nums(1, get("idle_rtt_p50_ms"), get("idle_rtt_p99_ms")),
			nums(0, get("loaded_rtt_p50_ms"), get("loaded_rtt_p90_ms"), get("loaded_rtt_p99_ms")),
			withParen(num(get("parallel_s"), 1)+pmark, num(get("parallel_mbps"), 1)),
			num(get("cpu_s_per_gb"), 1),
			nums(0, get("client_rss_mb"), get("server_rss_mb")),
			num(get("wire_per_payload"), 2),
			num(get("link_lateness_p99_us")/1000, 1))
	}
	if truncated {
		fmt.Fprintf(&b, "\n\\* the %g s time limit stopped a transfer in at least one round: the goodput counts the bytes that arrived by then.\n", r.Settings.TimeLimitS)
	}
	b.WriteString(r.idleConnsSection())
	if len(r.Ratios) > 0 {
		fmt.Fprintf(&b, "\nRatios to %s (same run; goodput above 1 is better, times below 1 are better):\n\n", r.Ratios[0].Reference)
		b.WriteString("| link | subject | goodput | loaded RTT p50 | loaded RTT p99 | parallel time | CPU/GB | wire/payload |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|\n")
		for _, q := range r.Ratios {
			get := func(k string) string {
				if v, ok := q.Ratios[k]; ok {
					return fmt.Sprintf("%.2f×", v)
				}
				return "–"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", q.Scenario, q.Subject,
				get("download_mbps"), get("loaded_rtt_p50_ms"), get("loaded_rtt_p99_ms"), get("parallel_s"),
				get("cpu_s_per_gb"), get("wire_per_payload"))
		}
	}
	b.WriteString("\n")
	for _, sc := range r.Scenarios {
		if sc.Group == GroupSweep {
			continue
		}
		fmt.Fprintf(&b, "- %s: %s", sc.Name, sc.Link)
		if sc.Spec.GE.Enabled() {
			fmt.Fprintf(&b, " (Gilbert-Elliott bursts, %s loss on average)", pct(sc.Spec.MeanLoss()))
		}
		if len(sc.Spec.Phases) > 0 {
			b.WriteString(" (each phase=after/rate/loss sets the rate and loss from that long after the link's first packet on)")
		}
		b.WriteString("\n")
	}
	if sw := sweepNote(r.Scenarios); sw != "" {
		b.WriteString(sw)
	}
	fmt.Fprintf(&b, "- %d round(s); download %s, echo probes of %d B every %g ms; %d CPUs; %.0f s in total\n",
		r.Settings.Rounds, sizeString(r.Settings.DownloadBytes), ProbeSize, r.Settings.ProbeIntervalMs, r.Host.CPUs, r.Seconds)
	if late := r.maxLateness(); late > 0 {
		fmt.Fprintf(&b, "- emulator lateness p99 (worst run): %.0f µs\n", late)
	}
	if drops, known := r.hostDrops(); known > 0 {
		fmt.Fprintf(&b, "- packets the host dropped before the emulator (socket buffers, TUN queue): %d in %d runs\n", drops, known)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	for _, run := range r.Runs {
		if run.Error != "" {
			fmt.Fprintf(&b, "- FAILED %s on %s round %d: %s\n", run.Subject, run.Scenario, run.Round, run.Error)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// idleConnsSection lists the RSS growth per idle connection of every
// scenario and subject that ran the idle-connections workload ("–" where
// not measured), or is "" when no summary has the figures.
func (r *Report) idleConnsSection() string {
	if !slices.ContainsFunc(r.Summaries, hasIdleMetrics) {
		return ""
	}
	ran := map[string]bool{}
	for _, sc := range r.Scenarios {
		ran[sc.Name] = sc.Workloads.IdleConns
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nIdle connections (%d held open): RSS growth per connection, KiB client / server:\n", r.Settings.IdleConns)
	for _, s := range r.Summaries {
		if !ran[s.Scenario] && !hasIdleMetrics(s) {
			continue
		}
		fmt.Fprintf(&b, "- %s %s: %s\n", s.Scenario, s.Subject, nums(1, metricOr(s, "client_idle_kb"), metricOr(s, "server_idle_kb")))
	}
	return b.String()
}

func hasIdleMetrics(s Summary) bool {
	_, c := s.Metrics["client_idle_kb"]
	_, v := s.Metrics["server_idle_kb"]
	return c || v
}

// metricOr is s's median of metric k, or NaN when it has none.
func metricOr(s Summary, k string) float64 {
	if v, ok := s.Metrics[k]; ok {
		return v
	}
	return math.NaN()
}

func sweepNote(scs []ScenarioInfo) string {
	var pcts []string
	for _, sc := range scs {
		if sc.Group == GroupSweep {
			pcts = append(pcts, fmt.Sprintf("%g", sc.LossPct))
		}
	}
	if len(pcts) == 0 {
		return ""
	}
	return fmt.Sprintf("- loss sweep: the %s profile with loss %s %%\n", SweepBase, strings.Join(pcts, ", "))
}

func (r *Report) hostDrops() (drops uint64, runs int) {
	for _, run := range r.Runs {
		if run.Link.HostDrops != nil {
			drops += *run.Link.HostDrops
			runs++
		}
	}
	return drops, runs
}

func (r *Report) maxLateness() float64 {
	var m float64
	for _, run := range r.Runs {
		m = max(m, run.Link.LatenessP99us)
	}
	return m
}

// num formats v with prec decimals, or "–" when v is missing (NaN).
func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// nums joins several values with " / ", or "–" when all are missing.
func nums(prec int, vs ...float64) string {
	parts := make([]string, len(vs))
	missing := 0
	for i, v := range vs {
		parts[i] = num(v, prec)
		if math.IsNaN(v) {
			missing++
		}
	}
	if missing == len(vs) {
		return "–"
	}
	return strings.Join(parts, " / ")
}

func withParen(a, b string) string {
	if b == "–" {
		return a
	}
	return a + " (" + b + ")"
}

// sizeString writes a byte count in KB, MB or GB (binary units) when it
// is a whole multiple, else in bytes.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
