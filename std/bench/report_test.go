package bench

import (
	"bytes"
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
