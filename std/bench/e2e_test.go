package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// TestBenchEndToEnd is the short bench run of CI: this repository's
// client and server, built with go build (no -race), as pair A with the
// default flags and pair B with another cipher, over the clean and the
// lossy link, every workload small (20 idle connections).
func TestBenchEndToEnd(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("the bench reads CPU and memory from /proc")
	}
	testnet.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	jsonPath, plotPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	var stdout, stderr bytes.Buffer
	err := Main(ctx, []string{"--profile", "clean", "--profile", "lossy", "--size", "2MB",
		"--streams", "10", "--stream-size", "128KB", "--probes", "10", "--idle-conns", "20", "--json", jsonPath, "--plot", plotPath,
		"--b-args", "--crypt aes-128-gcm --mode fast3 --key bench-key --quiet"},
		&stdout, &stderr, dir)
	if err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("table:\n%s", stdout.String())
	for _, row := range []string{"| clean | A |", "| lossy | A |", "| clean | B |", "| lossy | B |", "Ratios to A",
		"Idle connections (20 held open)", "\n- lossy B: "} {
		if !strings.Contains(stdout.String(), row) {
			t.Errorf("table lacks a row starting %q", row)
		}
	}

	f, err := os.Open(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 4 {
		t.Fatalf("%d runs, want 4 (A and B on two links)", len(rep.Runs))
	}
	if len(rep.Ratios) != 2 || rep.Ratios[0].Ratios["download_mbps"] <= 0 {
		t.Errorf("ratios %+v, want B/A for both links", rep.Ratios)
	}
	for _, r := range rep.Runs {
		if !r.Verified || r.Error != "" {
			t.Errorf("%s: not verified: %s", r.Scenario, r.Error)
		}
		if r.Download == nil || r.Download.Mbps <= 0 || r.Download.Bytes != 2<<20 {
			t.Errorf("%s: download %+v, want 2 MB at a positive rate", r.Scenario, r.Download)
		}
		if r.IdleRTT == nil || r.IdleRTT.Count != 10 || r.LoadedRTT == nil || r.LoadedRTT.Count == 0 {
			t.Errorf("%s: RTT idle %+v loaded %+v, want 10 idle probes and some loaded", r.Scenario, r.IdleRTT, r.LoadedRTT)
		}
		if r.Parallel == nil || r.Parallel.Bytes != 10*128<<10 {
			t.Errorf("%s: parallel %+v, want 10 × 128 KB", r.Scenario, r.Parallel)
		}
		// Every connection costs both processes memory (goroutines, buffers).
		if r.IdleConns != 20 || r.ClientIdleKB <= 0 || r.ServerIdleKB <= 0 {
			t.Errorf("%s: %d idle conns, %.1f / %.1f KiB each; want 20, both positive", r.Scenario, r.IdleConns, r.ClientIdleKB, r.ServerIdleKB)
		}
		if r.CPUPerGB <= 0 || r.ClientRSSMB <= 0 || r.ServerRSSMB <= 0 {
			t.Errorf("%s: cpu/GB %v rss %v/%v, want all measured", r.Scenario, r.CPUPerGB, r.ClientRSSMB, r.ServerRSSMB)
		}
		// FEC parity and acks: the wire always carries more than the payload.
		if r.WirePerPayload < 1 {
			t.Errorf("%s: wire/payload %v, want ≥ 1", r.Scenario, r.WirePerPayload)
		}
	}
	// The relay really is in the path: the lossy link's 2 × 40 ms delay
	// shows in every echo, and it dropped packets.
	lossy := rep.Runs[2] // round-major: clean A, clean B, lossy A, lossy B
	if lossy.IdleRTT.P50 < 80 || lossy.Link.LossDrops == 0 {
		t.Errorf("lossy: idle RTT p50 %.1f ms, %d losses; want ≥ 80 ms and some", lossy.IdleRTT.P50, lossy.Link.LossDrops)
	}
	if png, err := os.ReadFile(plotPath); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("plot: %v (%d bytes), want a PNG", err, len(png))
	}
}
