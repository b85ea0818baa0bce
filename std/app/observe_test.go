package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/tunnel"
)

// wireHeader is the --snmplog CSV header of wire.md §11, byte for byte.
const wireHeader = "Unix,BytesSent,BytesReceived,MaxConn,ActiveOpens,PassiveOpens,CurrEstab,InErrs,InCsumErrors,KCPInErrors,InPkts,OutPkts,InSegs,OutSegs,InBytes,OutBytes,RetransSegs,FastRetransSegs,EarlyRetransSegs,LostSegs,RepeatSegs,FECParityShards,FECErrs,FECRecovered,FECShortShards"

// testKey is distinctive so that any output carrying it is found.
const testKey = "ObsTestKey-9d41c7e2-never-printed"

// fakeUSR1 stands in for SIGUSR1 on the channel Run listens to.
type fakeUSR1 struct{}

func (fakeUSR1) String() string { return "user defined signal 1" }
func (fakeUSR1) Signal()        {}

// clientOn and serverOn run a tunnel role on sockets the test made (port 0).
type clientOn struct {
	*tunnel.Client
	ln net.Listener
}

func (c clientOn) ListenAndServe() error { return c.Serve(c.ln) }

type serverOn struct {
	*tunnel.Server
	pc net.PacketConn
}

func (s serverOn) ListenAndServe() error { return s.ServeAll([]net.PacketConn{s.pc}) }

func fastCommon(c *config.Common, dir, role string) {
	c.Key, c.Mode = testKey, "fast3"
	c.NoDelay, c.Interval, c.Resend, c.NoCongestion = 1, 10, 2, 1
	c.Log = filepath.Join(dir, role+".log")
	c.Metrics = "127.0.0.1:0"
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a file or page, not synchronising
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// metricsAddr waits for the "metrics listening" line of a log file.
func metricsAddr(t *testing.T, logPath string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	var addr string
	waitFor(t, "metrics listening in "+logPath, func() bool {
		m := re.FindStringSubmatch(readFile(t, logPath))
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

func getPage(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET metrics: %v %s", err, resp.Status)
	}
	return string(body)
}

// sample returns the value of the series that starts with name on page.
func sample(t *testing.T, page, name string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(page, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("%s not on the metrics page", name)
	return 0
}

// snmpRows returns the rows of the one --snmplog file in dir.
func snmpRows(t *testing.T, dir string) [][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "snmp-*.log"))
	if len(files) == 0 {
		return nil
	}
	if len(files) > 1 {
		t.Fatalf("more than one SNMP file: %v", files)
	}
	rows, err := csv.NewReader(strings.NewReader(readFile(t, files[0]))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", files[0], err)
	}
	return rows
}

func TestObservabilityOfARealRun(t *testing.T) {
	testnet.CheckLeaks(t)
	dir := t.TempDir()
	targetLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := testnet.ServeTarget(t, targetLn)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	scfg := config.DefaultServer()
	fastCommon(&scfg.Common, dir, "server")
	scfg.Target = targetLn.Addr().String()
	scfg.SnmpLog, scfg.SnmpPeriod = filepath.Join(dir, "snmp-20060102.log"), 1
	ccfg := config.DefaultClient()
	fastCommon(&ccfg.Common, dir, "client")
	ccfg.RemoteAddr = pc.LocalAddr().String()
	ccfg.Conn = 1 // the figures below are of one session

	ctx, cancel := context.WithCancel(context.Background())
	usr1 := make(chan os.Signal, 1)
	var running atomic.Int32
	results := make(chan error, 2)
	run := func(c *config.Common, usr1 <-chan os.Signal, newSvc func(*slog.Logger) (Service, error)) {
		running.Add(1)
		go func() { results <- Run(ctx, c, nil, usr1, newSvc) }()
	}
	stop := func() {
		cancel()
		for running.Load() > 0 {
			running.Add(-1)
			if err := <-results; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	run(&scfg.Common, nil, func(log *slog.Logger) (Service, error) {
		s, err := tunnel.NewServer(&scfg, log)
		return serverOn{s, pc}, err
	})
	run(&ccfg.Common, usr1, func(log *slog.Logger) (Service, error) {
		c, err := tunnel.NewClient(&ccfg, log)
		return clientOn{c, ln}, err
	})
	serverLog, clientLog := filepath.Join(dir, "server.log"), filepath.Join(dir, "client.log")
	serverMetrics, clientMetrics := metricsAddr(t, serverLog), metricsAddr(t, clientLog)

	before := getPage(t, serverMetrics)
	for i := range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if err := testnet.Exchange(c, uint32(i+1), 100_000, 150_000); err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		c.Close()
	}
	if _, err := target.Result(); err != nil {
		t.Fatal(err)
	}
	sentAfterTransfer := kcp.DefaultSnmp.Copy().BytesSent
	pages := map[string]string{"server": getPage(t, serverMetrics), "client": getPage(t, clientMetrics)}

	t.Run("metrics move", func(t *testing.T) {
		for _, name := range []string{"kcptun_kcp_bytes_sent_total", "kcptun_kcp_bytes_received_total",
			"kcptun_kcp_out_pkts_total", "kcptun_kcp_in_segs_total"} {
			if b, a := sample(t, before, name), sample(t, pages["server"], name); a <= b {
				t.Errorf("%s did not grow during the transfer: %v → %v", name, b, a)
			}
		}
		for role, page := range pages {
			if n := sample(t, page, "kcptun_sessions"); n != 1 {
				t.Errorf("%s kcptun_sessions = %v, want 1", role, n)
			}
			for _, name := range []string{"kcptun_session_srtt_seconds{", "kcptun_session_sent_bytes_total{", "go_goroutines ", "process_resident_memory_bytes "} {
				if !strings.Contains(page, "\n"+name) {
					t.Errorf("%s page lacks %s", role, name)
				}
			}
		}
	})

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool is not on PATH (Debian package prometheus): exposition not linted")
		}
		for role, page := range pages {
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(page)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics on the %s page: %v\n%s", role, err, out)
			}
		}
	})

	t.Run("SIGUSR1", func(t *testing.T) {
		usr1 <- fakeUSR1{}
		re := regexp.MustCompile(`msg="KCP SNMP:&\{BytesSent:(\d+) [^"]*FECShortShards:0\}"`)
		sessionRow := regexp.MustCompile(`msg=session remote=` + regexp.QuoteMeta(pc.LocalAddr().String()) +
			` conv=\d+ age=\S+ srtt=\S+ rto=\S+ streams=0 bytes_in=[1-9]\d* bytes_out=[1-9]\d*`)
		waitFor(t, "the SIGUSR1 snapshot in the client log", func() bool {
			return sessionRow.MatchString(readFile(t, clientLog))
		})
		m := re.FindStringSubmatch(readFile(t, clientLog))
		if m == nil || m[1] == "0" {
			t.Errorf("no KCP SNMP line with bytes sent in:\n%s", readFile(t, clientLog))
		}
		head := regexp.MustCompile(`msg=sessions count=1 retrans_segs=\d+ fec_recovered=\d+\n`)
		if !head.MatchString(readFile(t, clientLog)) {
			t.Errorf("no session table head (count, retransmitted and FEC-recovered segments) in:\n%s", readFile(t, clientLog))
		}
	})

	t.Run("snmplog", func(t *testing.T) {
		waitFor(t, "an SNMP row written after the transfer", func() bool {
			rows := snmpRows(t, dir)
			if len(rows) < 2 {
				return false
			}
			sent, _ := strconv.ParseUint(rows[len(rows)-1][1], 10, 64)
			return sent >= sentAfterTransfer
		})
		rows := snmpRows(t, dir)
		if got := strings.Join(rows[0], ","); got != wireHeader {
			t.Fatalf("header\n got %s\nwant %s", got, wireHeader)
		}
		var lastUnix, lastSent uint64
		for i, row := range rows[1:] {
			if len(row) != 25 {
				t.Fatalf("row %d has %d columns", i, len(row))
			}
			unix, err1 := strconv.ParseUint(row[0], 10, 64)
			sent, err2 := strconv.ParseUint(row[1], 10, 64)
			if err1 != nil || err2 != nil || unix < lastUnix || sent < lastSent {
				t.Errorf("row %d is not a later cumulative row: %v", i, row)
			}
			if d := time.Since(time.Unix(int64(unix), 0)); d < 0 || d > time.Minute {
				t.Errorf("row %d time %d is not now", i, unix)
			}
			lastUnix, lastSent = unix, sent
		}
		if strings.Count(readFile(t, snmpFile(t, dir)), "Unix,") != 1 {
			t.Errorf("header written more than once")
		}
		// The file name is the time layout snmp-20060102.log formatted
		// at the time of its rows.
		first, _ := strconv.ParseInt(rows[1][0], 10, 64)
		if got, want := filepath.Base(snmpFile(t, dir)), time.Unix(first, 0).Format("snmp-20060102.log"); got != want {
			t.Errorf("SNMP file %s, want %s (the layout formatted at its first row's time)", got, want)
		}
	})

	stop()
	t.Run("session lines", func(t *testing.T) {
		for role, want := range map[string][]string{
			clientLog: {`msg="session opened"`, `msg="stream opened"`, "app_to_tunnel=100008 tunnel_to_app=150000", `msg="session closed"`, `reason="client closed"`},
			serverLog: {`msg="session opened"`, `msg="stream closed"`, "app_to_tunnel=150000 tunnel_to_app=100008", `reason="server closed"`},
		} {
			out := readFile(t, role)
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("%s lacks %s:\n%s", filepath.Base(role), w, out)
				}
			}
		}
	})

	t.Run("key never shown", func(t *testing.T) {
		outputs := map[string]string{"client metrics": pages["client"], "server metrics": pages["server"]}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			outputs[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
		}
		if len(outputs) < 5 {
			t.Fatalf("expected 2 logs, the SNMP file and 2 pages, got %d outputs", len(outputs))
		}
		for name, out := range outputs {
			if strings.Contains(out, testKey) || bytes.Contains([]byte(out), []byte(fmt.Sprintf("%x", testKey))) {
				t.Errorf("the key appears in %s", name)
			}
		}
	})
}

func snmpFile(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "snmp-*.log"))
	if len(files) != 1 {
		t.Fatalf("SNMP files: %v", files)
	}
	return files[0]
}
