package bench

import (
	"errors"
	"io"
	"slices"
	"testing"
)

func TestNoArgsIsQuickLossyRun(t *testing.T) {
	cmd, err := ParseArgs(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := cmd.Config
	if len(c.Scenarios) != 1 || c.Scenarios[0].Name != "lossy" || c.Scenarios[0].Group != GroupProfile {
		t.Errorf("scenarios = %+v, want just the lossy profile", c.Scenarios)
	}
	w := c.Scenarios[0].Workloads
	if !w.Download || !w.IdleEcho || !w.LoadedEcho || w.Parallel || w.IdleConns {
		t.Errorf("workloads = %+v, want download and echo only", w)
	}
	if c.DownloadSize != 16<<20 || c.Rounds != 1 || len(c.Baselines) != 0 {
		t.Errorf("size %d rounds %d baselines %v, want 16 MB, 1, none", c.DownloadSize, c.Rounds, c.Baselines)
	}
	if !cmd.BuildA || len(c.Pairs) != 1 || !slices.Equal(c.Pairs[0].Args, DefaultTunnelArgs) {
		t.Errorf("pairs = %+v buildA=%v, want this repository's pair with the default flags", c.Pairs, cmd.BuildA)
	}
}

func TestFullRunsEveryProfileAndTheSweep(t *testing.T) {
	cmd, err := ParseArgs([]string{"--full", "--rounds", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := cmd.Config
	var profiles, sweep []string
	for _, sc := range c.Scenarios {
		switch sc.Group {
		case GroupProfile:
			profiles = append(profiles, sc.Name)
			if sc.Workloads != AllWorkloads {
				t.Errorf("profile %s workloads %+v, want all", sc.Name, sc.Workloads)
			}
		case GroupSweep:
			sweep = append(sweep, sc.Name)
			if sc.Spec.Rate != 50e6 {
				t.Errorf("sweep point %s rate %d, want the lossy profile's 50 Mbit/s", sc.Name, sc.Spec.Rate)
			}
		}
	}
	if want := []string{"clean", "lossy", "bad", "bursty", "satellite", "changing"}; !slices.Equal(profiles, want) {
		t.Errorf("profiles %v, want %v", profiles, want)
	}
	if len(sweep) != len(DefaultSweep) || c.Scenarios[len(c.Scenarios)-1].Spec.Loss != 0.20 {
		t.Errorf("sweep %v, want %d points ending at 20%% loss", sweep, len(DefaultSweep))
	}
	if c.Rounds != 2 || c.DownloadSize != 64<<20 || c.Streams != 100 || c.StreamSize != 512<<10 || c.IdleConns != 500 {
		t.Errorf("rounds %d size %d streams %d×%d idle conns %d; want the explicit 2 rounds and 64 MB, 100×512 KB, 500",
			c.Rounds, c.DownloadSize, c.Streams, c.StreamSize, c.IdleConns)
	}
}

func TestIdleConnsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--idle-conns", "20"}, 20},
		{[]string{"--full", "--idle-conns", "0"}, 0},
		{[]string{"--full", "--idle-conns", "64"}, 64},
	} {
		cmd, err := ParseArgs(tc.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		c := cmd.Config
		if w := c.Scenarios[0].Workloads; c.IdleConns != tc.want || w.IdleConns != (tc.want > 0) {
			t.Errorf("%q: idle conns %d, workload %v; want %d", tc.args, c.IdleConns, w.IdleConns, tc.want)
		}
	}
}

func TestPairsAndPassThroughFlags(t *testing.T) {
	cmd, err := ParseArgs([]string{"--client-bin", "/x/c", "--server-bin", "/x/s", "--b-args", "--crypt aes-128-gcm --key k",
		"--profile", "rate=10mbit,delay=20ms,loss=1%", "--", "--nocomp"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := cmd.Config
	if cmd.BuildA || !cmd.BuildB || len(c.Pairs) != 2 {
		t.Fatalf("buildA=%v buildB=%v pairs=%+v, want A given, B to build", cmd.BuildA, cmd.BuildB, c.Pairs)
	}
	if c.Pairs[0].Client != "/x/c" || !slices.Contains(c.Pairs[0].Args, "--nocomp") {
		t.Errorf("pair A = %+v, want /x/c with --nocomp appended", c.Pairs[0])
	}
	if want := []string{"--crypt", "aes-128-gcm", "--key", "k", "--nocomp"}; !slices.Equal(c.Pairs[1].Args, want) {
		t.Errorf("pair B args %v, want %v", c.Pairs[1].Args, want)
	}
	if sc := c.Scenarios[0]; sc.Group != GroupSpec || sc.Spec.Rate != 10e6 || sc.Spec.Loss != 0.01 {
		t.Errorf("spec scenario = %+v", sc)
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--profile", "nosuch"},
		{"--size", "-3MB"},
		{"--sweep", "0,120"},
		{"--client-bin", "/x/c"},
		{"--bogus"},
	} {
		if _, err := ParseArgs(args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseArgs(%q) = %v, want ErrUsage", args, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"64MB": 64 << 20, "512KB": 512 << 10, "1.5k": 1536, "2 MiB": 2 << 20, "1000": 1000, "1G": 1 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
