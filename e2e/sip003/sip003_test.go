//go:build linux

package sip003

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	ssPassword = "secret"
	ssMethod   = "chacha20-ietf-poly1305"
	dataSize   = 4 << 20
	readyWait  = 30 * time.Second // plugins up and the KCP session through
	exitWait   = 15 * time.Second // a plugin's poll interval plus its grace
)

// tools are the programs the test runs, as found on PATH, and our plugins.
type tools struct {
	ssServer, ssLocal, curl string
	client, server          string // our binaries, built into a temp dir
}

// needTools skips the test unless shadowsocks-libev, curl and go are
// installed, then builds the client and server binaries.
func needTools(t *testing.T) tools {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the shadowsocks end-to-end test")
	}
	var tl tools
	for _, p := range []struct {
		name string
		dst  *string
	}{{"ss-server", &tl.ssServer}, {"ss-local", &tl.ssLocal}, {"curl", &tl.curl}} {
		path, err := exec.LookPath(p.name)
		if err != nil {
			t.Skipf("%s not installed (apt-get install shadowsocks-libev curl): %v", p.name, err)
		}
		*p.dst = path
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go not on PATH, cannot build the plugins: %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/kcptun-go/tunnel/client", "github.com/kcptun-go/tunnel/server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build client server: %v\n%s", err, out)
	}
	tl.client, tl.server = filepath.Join(dir, "client"), filepath.Join(dir, "server")
	return tl
}

// payload is dataSize deterministic bytes: pseudo-random blocks (which
// snappy cannot shrink) alternating with repetitive text (which it can).
func payload() []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 'i', 'p', '0', '0', '3'}))
	var b bytes.Buffer
	for i := 0; b.Len() < dataSize; i++ {
		block := make([]byte, 64<<10)
		if i%2 == 0 {
			for j := range block {
				block[j] = byte(rng.Uint32())
			}
		} else {
			line := fmt.Sprintf("line %d of a compressible block\n", i)
			block = bytes.Repeat([]byte(line), len(block)/len(line))
		}
		b.Write(block)
	}
	return b.Bytes()[:dataSize]
}

// serveTarget starts the HTTP target: /data is the payload, /ping is "pong".
func serveTarget(t *testing.T, data []byte) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "data", time.Time{}, bytes.NewReader(data))
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "pong") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// freePort returns a port on host that the kernel just handed out for
// network ("tcp" or "udp") and that is closed again.
func freePort(t *testing.T, network, host string) string {
	t.Helper()
	addr := net.JoinHostPort(host, "0")
	var (
		a   net.Addr
		err error
	)
	if network == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", addr); err == nil {
			a = c.LocalAddr()
			c.Close()
		}
	} else {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			a = ln.Addr()
			ln.Close()
		}
	}
	if err != nil {
		t.Fatalf("free %s port on %s: %v", network, host, err)
	}
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// ssPair is a running ss-server and ss-local with our plugins.
type ssPair struct {
	server, local *exec.Cmd
	socks         string // ss-local's SOCKS5 address
	logs          []string
}

// pairConfig describes one ss-server / ss-local pair.
type pairConfig struct {
	host                   string // where ss-server (our server plugin) listens
	serverOpts, clientOpts string // --plugin-opts; empty: none given
}

// startPair starts ss-server and ss-local with our plugins, each in its own
// process group (with its plugin), stopped and reaped at cleanup.
func startPair(t *testing.T, tl tools, pc pairConfig) *ssPair {
	t.Helper()
	serverPort := freePort(t, "udp", pc.host) // our server plugin listens on UDP there
	socksPort := freePort(t, "tcp", "127.0.0.1")
	common := []string{"-s", pc.host, "-p", serverPort, "-k", ssPassword, "-m", ssMethod}
	serverArgs := append(append([]string{}, common...), "--plugin", tl.server)
	if pc.serverOpts != "" {
		serverArgs = append(serverArgs, "--plugin-opts", pc.serverOpts)
	}
	localArgs := append(append([]string{}, common...), "-b", "127.0.0.1", "-l", socksPort, "--plugin", tl.client)
	if pc.clientOpts != "" {
		localArgs = append(localArgs, "--plugin-opts", pc.clientOpts)
	}
	p := &ssPair{socks: net.JoinHostPort("127.0.0.1", socksPort)}
	p.server = startGroup(t, p, tl.ssServer, serverArgs...)
	p.local = startGroup(t, p, tl.ssLocal, localArgs...)
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range p.logs {
				out, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", filepath.Base(l), out)
			}
		}
	})
	return p
}

// startGroup starts a command in a new process group, its output in a log
// file (not a pipe: the plugin inherits it and may outlive the command).
// Cleanup sends SIGTERM to the group and waits for the command and its
// plugin children to exit, then SIGKILLs the group if they did not.
func startGroup(t *testing.T, p *ssPair, name string, args ...string) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.logs = append(p.logs, logPath)
	cmd := exec.Command(name, args...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	pgid := cmd.Process.Pid
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(exitWait):
			t.Errorf("%s did not exit %v after SIGTERM", filepath.Base(name), exitWait)
		}
		if !groupGone(pgid, exitWait) {
			t.Errorf("process group of %s still alive %v after SIGTERM", filepath.Base(name), exitWait)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
	return cmd
}

// cleanEnv is the test's environment without SIP003 or proxy variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SS_") || strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// curl fetches url through the SOCKS5 proxy into a file and returns its
// content.
func curl(ctx context.Context, tl tools, socks, url string) ([]byte, error) {
	out, err := os.CreateTemp("", "sip003-curl-*")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.CommandContext(ctx, tl.curl, "-sS", "--fail", "--socks5-hostname", socks, "-o", out.Name(), url)
	cmd.Env = cleanEnv()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("curl %s: %w: %s", url, err, bytes.TrimSpace(msg))
	}
	return os.ReadFile(out.Name())
}

// waitReady polls /ping through the pair until it answers or readyWait
// passes.
func waitReady(t *testing.T, tl tools, p *ssPair, target string) {
	t.Helper()
	deadline := time.Now().Add(readyWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		got, err := curl(ctx, tl, p.socks, target+"/ping")
		cancel()
		if err == nil && string(got) == "pong" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer through ss-local %s within %v: last %q, %v", p.socks, readyWait, got, err)
		}
		<-tick.C
	}
}

// fetchExact fetches /data through the pair and compares it with data.
func fetchExact(t *testing.T, tl tools, p *ssPair, target string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	got, err := curl(ctx, tl, p.socks, target+"/data")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < min(len(got), len(data)) && got[i] == data[i] {
			i++
		}
		t.Fatalf("fetched %d bytes, want %d; first difference at byte %d", len(got), len(data), i)
	}
	t.Logf("%d bytes byte-exact through ss-local → plugins → ss-server in %v", len(got), time.Since(start).Round(time.Millisecond))
}

func TestFetchThroughShadowsocksWithPlugins(t *testing.T) {
	tl := needTools(t)
	data := payload()
	target := serveTarget(t, data)
	tests := []struct {
		name string
		pc   pairConfig
		ipv6 bool
	}{
		{"defaults", pairConfig{host: "127.0.0.1"}, false},
		{"fast3 aes-128 nocomp", pairConfig{host: "127.0.0.1",
			serverOpts: "mode=fast3;crypt=aes-128;nocomp",
			clientOpts: "mode=fast3;crypt=aes-128;nocomp"}, false},
		{"escaped key over IPv6", pairConfig{host: "::1",
			serverOpts: `key=p\;a\=s\\s;crypt=salsa20;mode=fast2;datashard=0;parityshard=0`,
			clientOpts: `key=p\;a\=s\\s;crypt=salsa20;mode=normal;datashard=0;parityshard=0;conn=2`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ipv6 {
				c, err := net.ListenPacket("udp", "[::1]:0")
				if err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				c.Close()
			}
			p := startPair(t, tl, tt.pc)
			waitReady(t, tl, p, target)
			fetchExact(t, tl, p, target, data)
		})
	}
}

func TestPluginsExitWithShadowsocks(t *testing.T) {
	tl := needTools(t)
	target := serveTarget(t, nil)
	p := startPair(t, tl, pairConfig{host: "127.0.0.1"})
	waitReady(t, tl, p, target)

	client, server := pluginOf(t, p.local.Process.Pid), pluginOf(t, p.server.Process.Pid)

	// ss-local stops on SIGTERM and takes its plugin with it.
	if err := p.local.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !gone(client, exitWait) {
		t.Errorf("client plugin (pid %d) still running %v after ss-local got SIGTERM", client, exitWait)
	}
	// ss-server killed outright cannot stop its plugin: the plugin notices
	// that its parent is gone and exits by itself.
	if err := p.server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !gone(server, exitWait) {
		t.Errorf("server plugin (pid %d) still running %v after ss-server was killed", server, exitWait)
	}
}

// pluginOf returns the pid of the one child process of pid.
func pluginOf(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var children []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procState(child); ok && ppid == pid {
			children = append(children, child)
		}
	}
	if len(children) != 1 {
		t.Fatalf("pid %d has children %v, want exactly one (the plugin)", pid, children)
	}
	return children[0]
}

// procState reads a process's state letter and parent pid from
// /proc/PID/stat; ok is false when the process does not exist.
func procState(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err == nil
}

// gone polls until pid no longer runs (it is absent or a zombie) or wait
// passes.
func gone(pid int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if state, _, ok := procState(pid); !ok || state == "Z" || state == "X" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// groupGone polls until no process is left in process group pgid, or wait
// passes.
func groupGone(pgid int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// Signal 0 checks existence; zombies still count, so an
		// unreaped orphan is waited for until init reaps it.
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// optEscaper escapes a SIP003 option value: ';', '=' and '\' get a backslash.
var optEscaper = strings.NewReplacer(`\`, `\\`, `;`, `\;`, `=`, `\=`)

// waitLog polls the file at path until it matches re or readyWait passes.
func waitLog(t *testing.T, path string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(readyWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		out, _ := os.ReadFile(path)
		if re.Match(out) {
			return string(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not match %s within %v:\n%s", filepath.Base(path), re, readyWait, out)
		}
		<-tick.C
	}
}

// The options shadowsocks passes reach the real plugins: with log=FILE each
// plugin logs its sessions and streams there; a SIGUSR1 to the client
// plugin adds kcptun's KCP SNMP line and the session table; and the key
// (which needs escapes) appears in none of the outputs.
func TestPluginOptionsReachThePlugins(t *testing.T) {
	tl := needTools(t)
	data := payload()[:256<<10]
	target := serveTarget(t, data)
	const key = `E2eKey;with=escapes\-9f1c`
	dir := t.TempDir()
	serverLog, clientLog := filepath.Join(dir, "server plugin.log"), filepath.Join(dir, "client;plugin.log")
	opts := func(log string) string {
		return "key=" + optEscaper.Replace(key) + ";crypt=aes-192;mode=fast2;log=" + optEscaper.Replace(log)
	}
	p := startPair(t, tl, pairConfig{host: "127.0.0.1", serverOpts: opts(serverLog), clientOpts: opts(clientLog)})
	waitReady(t, tl, p, target)
	fetchExact(t, tl, p, target, data)

	// The streams carry shadowsocks' encrypted stream: the /data fetch is
	// the one with six-digit byte counts (the payload is 256 KiB).
	waitLog(t, clientLog, regexp.MustCompile(`msg="session opened"[^\n]*\n(.*\n)*.*msg="stream closed"[^\n]* app_to_tunnel=\d+ tunnel_to_app=\d{6} duration=`))
	waitLog(t, serverLog, regexp.MustCompile(`msg="stream closed"[^\n]* app_to_tunnel=\d{6} tunnel_to_app=\d+ duration=`))

	client := pluginOf(t, p.local.Process.Pid)
	if err := syscall.Kill(client, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitLog(t, clientLog, regexp.MustCompile(`msg="KCP SNMP:&\{BytesSent:[1-9]\d* [^"]*\}"\n.*msg=sessions count=\d+ retrans_segs=\d+ fec_recovered=\d+\n.*msg=session remote=127\.0\.0\.1:\d+ `))

	outputs := append([]string{serverLog, clientLog}, p.logs...)
	for _, path := range outputs {
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte(key)) || bytes.Contains(out, []byte(optEscaper.Replace(key))) {
			t.Errorf("the key appears in %s", filepath.Base(path))
		}
	}
}

// A bad option stops the plugin with an error naming the key and what it
// accepts, which ends up in shadowsocks' output.
func TestBadPluginOptionIsAClearError(t *testing.T) {
	tl := needTools(t)
	p := startPair(t, tl, pairConfig{host: "127.0.0.1", serverOpts: "mode=fastest;key=x"})
	out := waitLog(t, p.logs[0], regexp.MustCompile(`SS_PLUGIN_OPTIONS: key "mode": "fastest" is not one of fast3, fast2, fast, normal, manual`))
	if strings.Contains(out, "key=x") {
		t.Errorf("the options (with the key) are echoed:\n%s", out)
	}
}
