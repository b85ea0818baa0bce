package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// TestKernelTCPBaselineCrossesTheEmulatedLink runs kernel TCP (cubic)
// between two namespaces through the TUN forwarder: the link's delay must
// show in the echo RTT, every byte must verify, and the namespaces must be
// gone afterwards.
func TestKernelTCPBaselineCrossesTheEmulatedLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and TUN devices")
	}
	testnet.CheckLeaks(t)
	sc, err := SpecScenario("rate=20mbit,delay=20ms,loss=0.5%", Workloads{IdleEcho: true, Download: true, LoadedEcho: true, Parallel: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{Baselines: []string{"cubic", "no-such-cc"}, Scenarios: []Scenario{sc},
		DownloadSize: 1 << 20, Streams: 5, StreamSize: 64 << 10, IdleProbes: 5, TimeLimit: 20 * time.Second})
	if errors.Is(err, ErrUnavailable) || (rep != nil && len(rep.Runs) == 0) {
		t.Skipf("baseline unavailable here: %v %v", err, rep.Notes)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Subject != "tcp-cubic" {
		t.Fatalf("runs %+v, want one tcp-cubic run", rep.Runs)
	}
	r := rep.Runs[0]
	if !r.Verified || r.Download == nil || !r.Download.Complete || r.Download.Mbps <= 0 || r.Parallel == nil || !r.Parallel.Complete {
		t.Errorf("run %+v: want a verified, complete download and parallel batch", r)
	}
	if r.IdleRTT == nil || r.IdleRTT.P50 < 40 {
		t.Errorf("idle RTT %+v, want p50 ≥ 40 ms (2 × 20 ms one way)", r.IdleRTT)
	}
	if r.Link.PacketsDown == 0 || r.WirePerPayload < 1 {
		t.Errorf("link %+v wire/payload %v: the packets did not cross the emulated link", r.Link, r.WirePerPayload)
	}
	if !strings.Contains(strings.Join(rep.Notes, " "), "no-such-cc unavailable") {
		t.Errorf("notes %q do not report the missing congestion control", rep.Notes)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), fmt.Sprintf("kbench%d", os.Getpid())) {
		t.Errorf("namespaces left behind:\n%s", out)
	}
}
