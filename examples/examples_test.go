package examples

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kcptun-go/tunnel/std/config"
)

// noEnv is a getenv with an empty environment, so that a KCPTUN_KEY of the
// machine running the tests cannot change what the files say.
func noEnv(string) string { return "" }

const placeholderKey = "CHANGE-ME: a long random secret, the same on both ends"

func loadClient(t *testing.T, args ...string) *config.Client {
	t.Helper()
	cfg, warnings, err := config.LoadClient(args, noEnv)
	if err != nil {
		t.Fatalf("client %q: %v", args, err)
	}
	if len(warnings) > 0 {
		t.Errorf("client %q warns: %q", args, warnings)
	}
	return cfg
}

func loadServer(t *testing.T, args ...string) *config.Server {
	t.Helper()
	cfg, warnings, err := config.LoadServer(args, noEnv)
	if err != nil {
		t.Fatalf("server %q: %v", args, err)
	}
	if len(warnings) > 0 {
		t.Errorf("server %q warns: %q", args, warnings)
	}
	return cfg
}

func TestClientJSONLoadsWithItsSettings(t *testing.T) {
	c := loadClient(t, "-c", "client.json")
	if c.LocalAddr != "127.0.0.1:12948" || c.RemoteAddr != "203.0.113.10:29900" {
		t.Errorf("addresses: localaddr %q remoteaddr %q", c.LocalAddr, c.RemoteAddr)
	}
	if c.Key != placeholderKey || c.Crypt != "aes" || c.Mode != "fast3" {
		t.Errorf("key %q crypt %q mode %q", c.Key, c.Crypt, c.Mode)
	}
	// fast3's preset must be applied: nodelay 1, interval 10, resend 2, nc 1.
	if c.NoDelay != 1 || c.Interval != 10 || c.Resend != 2 || c.NoCongestion != 1 {
		t.Errorf("fast3 preset not applied: nodelay %d interval %d resend %d nc %d", c.NoDelay, c.Interval, c.Resend, c.NoCongestion)
	}
	if c.Conn != 2 || c.MTU != 1350 || c.SndWnd != 256 || c.RcvWnd != 1024 {
		t.Errorf("conn %d mtu %d sndwnd %d rcvwnd %d", c.Conn, c.MTU, c.SndWnd, c.RcvWnd)
	}
	if c.DataShard != 10 || c.ParityShard != 3 || c.SockBuf != 4194304 || c.SmuxBuf != 4194304 || c.StreamBuf != 2097152 {
		t.Errorf("ds %d ps %d sockbuf %d smuxbuf %d streambuf %d", c.DataShard, c.ParityShard, c.SockBuf, c.SmuxBuf, c.StreamBuf)
	}
}

func TestServerJSONLoadsWithItsSettings(t *testing.T) {
	s := loadServer(t, "-c", "server.json")
	if s.Listen != ":29900" || s.Target != "127.0.0.1:8388" {
		t.Errorf("listen %q target %q", s.Listen, s.Target)
	}
	if s.Key != placeholderKey || s.Crypt != "aes" || s.Mode != "fast3" || s.Interval != 10 {
		t.Errorf("key %q crypt %q mode %q interval %d", s.Key, s.Crypt, s.Mode, s.Interval)
	}
	// 1024 is the server's default window: a ceiling of AutoWnd under the send control
	if s.SndWnd != config.AutoWnd || s.RcvWnd != config.AutoWnd || s.MTU != 1350 || s.DataShard != 10 || s.ParityShard != 3 {
		t.Errorf("sndwnd %d rcvwnd %d mtu %d ds %d ps %d", s.SndWnd, s.RcvWnd, s.MTU, s.DataShard, s.ParityShard)
	}
}

// The two files are meant to be used together: the identical-parameter rule
// holds and the client dials the port the server listens on.
func TestClientAndServerJSONMatch(t *testing.T) {
	c := loadClient(t, "-c", "client.json")
	s := loadServer(t, "-c", "server.json")
	if c.Key != s.Key || c.Crypt != s.Crypt || c.NoComp != s.NoComp || c.SmuxVer != s.SmuxVer ||
		c.QPP != s.QPP || c.QPPCount != s.QPPCount {
		t.Errorf("identical-parameter rule broken:\nclient %+v\nserver %+v", c.Common, s.Common)
	}
	_, cport, err := net.SplitHostPort(c.RemoteAddr)
	if err != nil {
		t.Fatal(err)
	}
	_, sport, err := net.SplitHostPort(s.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if cport != sport {
		t.Errorf("client dials port %s, server listens on %s", cport, sport)
	}
}

// The files leave out tcp, quiet and log, so that flags given next to -c
// still work (keys present in the file override the command line).
func TestFlagsBesideTheJSONFileApply(t *testing.T) {
	c := loadClient(t, "-c", "client.json", "--tcp", "--quiet")
	if !c.TCP || !c.Quiet {
		t.Errorf("client -c client.json --tcp --quiet: tcp %v quiet %v", c.TCP, c.Quiet)
	}
	s := loadServer(t, "-c", "server.json", "--tcp")
	if !s.TCP {
		t.Error("server -c server.json --tcp: tcp is off")
	}
}

// unit is a parsed systemd unit: "Section.Key" → values in file order.
type unit map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a key=value line: %q", path, line)
			}
			key := section + "." + strings.TrimSpace(k)
			u[key] = append(u[key], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// last returns the value systemd uses for a single-valued key.
func (u unit) last(key string) string {
	v := u[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

type unitCase struct {
	file, role string
	tcp        bool
}

var unitCases = []unitCase{
	{"kcptun-server.service", "server", false},
	{"kcptun-client.service", "client", false},
	{"kcptun-server-tcp.service", "server", true},
	{"kcptun-client-tcp.service", "client", true},
}

func TestSystemdUnitsAreHardened(t *testing.T) {
	for _, tc := range unitCases {
		t.Run(tc.file, func(t *testing.T) {
			u := parseUnit(t, filepath.Join("systemd", tc.file))
			want := map[string]string{
				"Service.DynamicUser":     "yes",
				"Service.NoNewPrivileges": "yes",
				"Service.Restart":         "on-failure",
				"Service.ProtectSystem":   "strict",
				"Service.ProtectHome":     "yes",
				"Service.PrivateTmp":      "yes",
				"Service.PrivateDevices":  "yes",
				"Install.WantedBy":        "multi-user.target",
			}
			for k, v := range want {
				if got := u.last(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if n, err := strconv.Atoi(u.last("Service.LimitNOFILE")); err != nil || n < 65535 {
				t.Errorf("LimitNOFILE = %q, want at least 65535", u.last("Service.LimitNOFILE"))
			}
			caps := strings.Fields(u.last("Service.AmbientCapabilities"))
			bound := strings.Fields(u.last("Service.CapabilityBoundingSet"))
			if _, ok := u["Service.CapabilityBoundingSet"]; !ok {
				t.Error("CapabilityBoundingSet missing")
			}
			wantCaps := []string(nil)
			if tc.tcp {
				wantCaps = []string{"CAP_NET_RAW", "CAP_NET_ADMIN"}
			}
			if !slices.Equal(caps, wantCaps) || !slices.Equal(bound, wantCaps) {
				t.Errorf("AmbientCapabilities %q, CapabilityBoundingSet %q: want %q for both", caps, bound, wantCaps)
			}
		})
	}
}

// ExecStart must run the installed binary with flags that exist: the test
// runs its arguments through the real loader with the example file in place
// of the credential.
func TestSystemdExecStartLoads(t *testing.T) {
	for _, tc := range unitCases {
		t.Run(tc.file, func(t *testing.T) {
			u := parseUnit(t, filepath.Join("systemd", tc.file))
			cred := tc.role + ".json"
			if got, want := u.last("Service.LoadCredential"), cred+":/etc/kcptun/"+cred; got != want {
				t.Errorf("LoadCredential = %q, want %q", got, want)
			}
			argv := strings.Fields(u.last("Service.ExecStart"))
			if len(argv) == 0 || argv[0] != "/usr/local/bin/kcptun-"+tc.role {
				t.Fatalf("ExecStart = %q, want /usr/local/bin/kcptun-%s ...", argv, tc.role)
			}
			args := argv[1:]
			i := slices.Index(args, "-c")
			if i < 0 || i+1 >= len(args) || args[i+1] != "%d/"+cred {
				t.Fatalf("ExecStart %q: want -c %%d/%s (the credential)", argv, cred)
			}
			args = slices.Clone(args)
			args[i+1] = cred // the example file in this directory
			var tcp bool
			if tc.role == "server" {
				tcp = loadServer(t, args...).TCP
			} else {
				tcp = loadClient(t, args...).TCP
			}
			if tcp != tc.tcp {
				t.Errorf("ExecStart %q gives tcp=%v, want %v", argv, tcp, tc.tcp)
			}
		})
	}
}

// systemd-analyze (when installed) reports keys it does not know; the units
// must have none.
func TestSystemdAnalyzeKnowsEveryKey(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// A root with the unit files and something executable where ExecStart
	// points, so that only the units themselves are judged.
	root := t.TempDir()
	unitDir := filepath.Join(root, "etc", "systemd", "system")
	for _, dir := range []string{unitDir, filepath.Join(root, "usr", "local", "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []string{"client", "server"} {
		if err := os.WriteFile(filepath.Join(root, "usr", "local", "bin", "kcptun-"+role), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, tc := range unitCases {
		data, err := os.ReadFile(filepath.Join("systemd", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(unitDir, tc.file), data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Join(unitDir, tc.file))
	}
	cmd := exec.Command(analyze, append([]string{"--root=" + root, "verify"}, names...)...)
	out, _ := cmd.CombinedOutput() // the exit status also reflects the missing system units
	for _, line := range strings.Split(string(out), "\n") {
		for _, bad := range []string{"Unknown key", "Unknown section", "Failed to parse", "Invalid", "not executable"} {
			if strings.Contains(line, bad) {
				t.Errorf("systemd-analyze: %s", line)
			}
		}
	}
}

// sysctlValues reads "key = value" lines.
func sysctlValues(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not a key = value line: %q", path, line)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		values[strings.TrimSpace(k)] = n
	}
	return values
}

// The kernel caps socket buffers at rmem_max/wmem_max: the sysctl file must
// allow what the examples' sockbuf asks for.
func TestSysctlAllowsTheExamplesSockbuf(t *testing.T) {
	v := sysctlValues(t, filepath.Join("sysctl.d", "90-kcptun.conf"))
	need := max(loadClient(t, "-c", "client.json").SockBuf, loadServer(t, "-c", "server.json").SockBuf)
	for _, k := range []string{"net.core.rmem_max", "net.core.wmem_max"} {
		if v[k] < need {
			t.Errorf("%s = %d, below the examples' sockbuf %d", k, v[k], need)
		}
	}
	if v["net.core.netdev_max_backlog"] == 0 {
		t.Error("net.core.netdev_max_backlog missing")
	}
}

// The auto examples leave every tuning key out: --mode auto sizes the
// windows (up to config.AutoWnd) and chooses the parity itself.
func TestAutoJSONLeavesTheTuningToAuto(t *testing.T) {
	c := loadClient(t, "-c", "auto-client.json")
	s := loadServer(t, "-c", "auto-server.json")
	for role, cm := range map[string]config.Common{"client": c.Common, "server": s.Common} {
		if !cm.Auto() || cm.SndWnd != config.AutoWnd || cm.RcvWnd != config.AutoWnd || cm.ParityShard != 3 {
			t.Errorf("%s: mode %s windows %d/%d parity %d, want auto, %d/%d and the default 3",
				role, cm.Mode, cm.SndWnd, cm.RcvWnd, cm.ParityShard, config.AutoWnd, config.AutoWnd)
		}
	}
	if c.Key != s.Key || c.Crypt != s.Crypt {
		t.Error("the auto examples' key or crypt differ")
	}
}
