package bench

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/netem"
)

// sampleReport is two subjects over two scenarios: A ran lossy three times
// (one failure), B twice; the sweep point has no B run.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	lossy, err := ProfileScenario("lossy", AllWorkloads)
	if err != nil {
		t.Fatal(err)
	}
	sweep, err := SweepScenarios([]float64{5})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{TimeLimit: 30 * time.Second, Scenarios: append([]Scenario{lossy}, sweep...), Pairs: []PairSpec{{Name: "A"}, {Name: "B"}}}.withDefaults()
	rep := newReport(cfg)
	rep.Subjects = []string{"A", "B"}
	run := func(sc, sub string, mbps, loadedP99 float64) RunResult {
		return RunResult{Scenario: sc, Subject: sub, Verified: true,
			Download:  &Goodput{Streams: 1, Complete: true, Bytes: 1 << 20, Seconds: 1, Mbps: mbps},
			LoadedRTT: &RTT{Count: 10, P50: loadedP99 / 2, P90: loadedP99 * 0.9, P99: loadedP99},
			CPUPerGB:  10, WirePerPayload: 1.3,
			Link: LinkSummary{PacketsDown: 100, LatenessP99us: 80}}
	}
	rep.Runs = []RunResult{
		run("lossy", "A", 30, 400), run("lossy", "B", 45, 200),
		run("lossy", "A", 10, 900), run("lossy", "B", 35, 100),
		run("lossy", "A", 20, 600),
		{Scenario: "lossy", Subject: "A", Error: "boom"},
		run(sweep[0].Name, "A", 25, 300),
	}
	rep.Runs[len(rep.Runs)-1].Download.Complete = false // the time limit stopped it
	return rep.finish()
}

func TestSummaryIsMedianOfVerifiedRuns(t *testing.T) {
	rep := sampleReport(t)
	var a, b *Summary
	for i := range rep.Summaries {
		s := &rep.Summaries[i]
		if s.Scenario == "lossy" && s.Subject == "A" {
			a = s
		}
		if s.Scenario == "lossy" && s.Subject == "B" {
			b = s
		}
	}
	if a == nil || b == nil {
		t.Fatalf("summaries %+v lack lossy A or B", rep.Summaries)
	}
	if a.Runs != 4 || a.Failed != 1 || a.Metrics["download_mbps"] != 20 || a.Metrics["loaded_rtt_p99_ms"] != 600 {
		t.Errorf("A on lossy = %+v, want 4 runs, 1 failed, median 20 Mbit/s and 600 ms", *a)
	}
	if b.Metrics["download_mbps"] != 40 {
		t.Errorf("B median goodput %v, want 40", b.Metrics["download_mbps"])
	}
	if _, ok := a.Metrics["idle_rtt_p50_ms"]; ok {
		t.Error("a metric no run measured has a median")
	}
	if len(rep.Ratios) != 1 || rep.Ratios[0].Ratios["download_mbps"] != 2 || rep.Ratios[0].Ratios["loaded_rtt_p99_ms"] != 150.0/600 {
		t.Errorf("ratios %+v, want one row: B/A goodput 2, loaded p99 0.25", rep.Ratios)
	}
}

func TestTableShowsRowsRatiosLinksAndFailures(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"| lossy | A (1/4 failed) | 20.0 | – | 300 / 540 / 600 | – | 10.0 | – | 1.30 | 0.1 |",
		"| lossy | B | 40.0 |",
		"| lossy loss=5% | A | 25.0* |",
		"* the 30 s time limit stopped a transfer",
		"| lossy | B | 2.00× | 0.25× | 0.25× |",
		"- lossy: rate=50mbit,delay=40ms,jitter=5ms,loss=2%,queue=100ms",
		"- loss sweep: the lossy profile with loss 5 %",
		"- FAILED A on lossy round 0: boom",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(rep.Runs) || back.Summaries[0].Metrics["download_mbps"] != 20 || back.Scenarios[0].Link != rep.Scenarios[0].Link {
		t.Errorf("round trip lost data: %+v", back.Summaries)
	}
	if back.Scenarios[1].Spec.Loss != 0.05 || back.Scenarios[1].Spec.Delay != 40*time.Millisecond {
		t.Errorf("sweep spec after round trip = %+v", back.Scenarios[1].Spec)
	}
}

func TestSpecStringParsesBack(t *testing.T) {
	for _, name := range netem.ProfileNames() {
		spec, _ := netem.Profile(name)
		if name == "clean" {
			continue
		}
		s := SpecString(spec)
		back, err := netem.ParseSpec(s)
		if err != nil || !reflect.DeepEqual(back, spec) {
			t.Errorf("%s: SpecString = %q, parses back as %+v, %v; want %+v", name, s, back, err, spec)
		}
	}
	phased := netem.Spec{Rate: 50e6, Loss: 0.01, Phases: []netem.Phase{
		{After: 10 * time.Second, Rate: 10e6, Loss: 0.1}, {After: 20500 * time.Millisecond}}}
	s := SpecString(phased)
	if back, err := netem.ParseSpec(s); err != nil || !reflect.DeepEqual(back, phased) {
		t.Errorf("SpecString = %q, parses back as %+v, %v; want %+v", s, back, err, phased)
	}
	if s := SpecString(netem.Spec{}); s != "no impairment" {
		t.Errorf("clean link = %q", s)
	}
}

func TestPlotIsPNG(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WritePlot(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG\r\n\x1a\n")) || buf.Len() < 10000 {
		t.Errorf("plot is %d bytes starting %q, want a PNG", buf.Len(), buf.Bytes()[:min(8, buf.Len())])
	}
}

// idleReport is A and tcp-cubic over the lossy profile with the
// idle-connections workload: A measured three times (medians 10.0 and
// 12.0 KiB), the baseline without processes to read.
func idleReport(t *testing.T) *Report {
	t.Helper()
	lossy, err := ProfileScenario("lossy", AllWorkloads)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{IdleConns: 500, Scenarios: []Scenario{lossy}, Pairs: []PairSpec{{Name: "A"}}}.withDefaults()
	rep := newReport(cfg)
	rep.Subjects = []string{"A", "tcp-cubic"}
	run := func(sub string, client, server float64) RunResult {
		return RunResult{Scenario: "lossy", Subject: sub, Verified: true, IdleConns: 500, ClientIdleKB: client, ServerIdleKB: server}
	}
	rep.Runs = []RunResult{run("A", 9.5, 14), run("tcp-cubic", 0, 0), run("A", 10, 12), run("A", 11, 11.5)}
	return rep.finish()
}

func TestIdleConnsMetricsAreMediansOfMeasuredRuns(t *testing.T) {
	rep := idleReport(t)
	if len(rep.Summaries) != 2 {
		t.Fatalf("summaries %+v, want A and tcp-cubic", rep.Summaries)
	}
	a, base := rep.Summaries[0].Metrics, rep.Summaries[1].Metrics
	if a["client_idle_kb"] != 10 || a["server_idle_kb"] != 12 {
		t.Errorf("A idle metrics %v, want client 10, server 12", a)
	}
	if _, ok := base["client_idle_kb"]; ok {
		t.Errorf("the baseline has an idle median %v though no run measured one", base)
	}
	if rep.Settings.IdleConns != 500 {
		t.Errorf("settings idle conns %d, want 500", rep.Settings.IdleConns)
	}
	line := rep.Runs[0].progressLine()
	if !strings.Contains(line, " 500 idle conns 9.5/14.0 KiB each client/server") {
		t.Errorf("progress line %q lacks the idle figures", line)
	}
	if line := rep.Runs[1].progressLine(); !strings.Contains(line, " 500 idle conns (") {
		t.Errorf("progress line of an unmeasured run %q, want the count without figures", line)
	}
}

func TestTableListsIdleConnsBelowTheMainTable(t *testing.T) {
	var buf bytes.Buffer
	if err := idleReport(t).WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := "\nIdle connections (500 held open): RSS growth per connection, KiB client / server:\n" +
		"- lossy A: 10.0 / 12.0\n- lossy tcp-cubic: –\n"
	if !strings.Contains(out, want) {
		t.Errorf("table lacks the idle section %q:\n%s", want, out)
	}
	if header, _, _ := strings.Cut(out, "\n"); strings.Contains(header, "idle conn") || strings.Count(header, "|") != 11 {
		t.Errorf("main table header changed: %s", header)
	}

	buf.Reset()
	if err := sampleReport(t).WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Idle connections") {
		t.Errorf("table without idle figures has an idle section:\n%s", buf.String())
	}
}

func TestIdleConnsJSONNames(t *testing.T) {
	b, err := json.Marshal(RunResult{IdleConns: 20, ClientIdleKB: 9.5, ServerIdleKB: 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"idle_conns":20`, `"client_idle_kb_per_conn":9.5`, `"server_idle_kb_per_conn":12`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	if b, _ := json.Marshal(RunResult{}); strings.Contains(string(b), "idle_conns") || strings.Contains(string(b), "idle_kb") {
		t.Errorf("JSON of a run without the workload has idle fields: %s", b)
	}
}
