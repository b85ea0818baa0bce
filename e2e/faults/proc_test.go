//go:build linux

package faults

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testKey is the --key of every process here.
const testKey = "e2e-faults-key"

// proc is a running binary whose output goes to a log file.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // Wait's result, set before exited is closed
}

// startProc runs bin with args. At cleanup a process still running gets
// SIGTERM, then SIGKILL if it has not exited 15 s later; its log is
// printed when the test failed.
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	return startCmd(t, filepath.Base(bin), exec.Command(bin, args...))
}

// startLimited runs bin with args under `ulimit -n fds` (soft and hard).
func startLimited(t *testing.T, fds int, bin string, args ...string) *proc {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash not installed, cannot lower the descriptor limit: %v", err)
	}
	script := "ulimit -n " + strconv.Itoa(fds) + ` && exec "$0" "$@"`
	return startCmd(t, filepath.Base(bin), exec.Command("bash", append([]string{"-c", script, bin}, args...)...))
}

func startCmd(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, log: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(15 * time.Second):
				t.Errorf("%s still running 15 s after SIGTERM; killed", name)
				cmd.Process.Kill()
				<-p.exited
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.text())
		}
	})
	return p
}

func (p *proc) text() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// lines returns the log lines that contain sub.
func (p *proc) lines(sub string) []string {
	var out []string
	for _, l := range strings.Split(p.text(), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// waitLog waits up to d for a log line containing sub.
func (p *proc) waitLog(t *testing.T, d time.Duration, sub string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for len(p.lines(sub)) == 0 {
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) before logging %q", p.name, p.err, sub)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %v", p.name, sub, d)
		}
		time.Sleep(10 * time.Millisecond) // polling the log file, not synchronising
	}
}

// exitCode waits up to d for the process to exit and returns its code.
func (p *proc) exitCode(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("%s still running after %v", p.name, d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

// cpuTime is the CPU time the process has used so far.
func (p *proc) cpuTime(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// freePort returns a port the kernel just handed out on 127.0.0.1 for
// network ("tcp" or "udp"), closed again.
func freePort(t *testing.T, network string) string {
	t.Helper()
	var addr net.Addr
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr()
		c.Close()
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr()
		ln.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// tunnel is a server and a client binary on 127.0.0.1 in front of target.
type tunnel struct {
	server, client *proc
	local, udp     string   // the client's TCP address, the server's UDP address
	target         string   // the server's -t
	common         []string // the flags both take
}

// startTunnel starts the server and the client (with clientStart, or
// startProc when nil) and waits until both listen. extra flags go to both.
func startTunnel(t *testing.T, target string, clientStart func(t *testing.T, bin string, args ...string) *proc, extra ...string) *tunnel {
	t.Helper()
	tn := &tunnel{local: "127.0.0.1:" + freePort(t, "tcp"), udp: "127.0.0.1:" + freePort(t, "udp"), target: target,
		common: append([]string{"--key", testKey, "--mode", "fast3"}, extra...)}
	tn.startServer(t)
	if clientStart == nil {
		clientStart = startProc
	}
	tn.client = clientStart(t, built(t, "client"), append([]string{"-l", tn.local, "-r", tn.udp}, tn.common...)...)
	tn.client.waitLog(t, 10*time.Second, "listening")
	return tn
}

// startServer starts (or starts again) the server and waits until it listens.
func (tn *tunnel) startServer(t *testing.T) {
	t.Helper()
	tn.server = startProc(t, built(t, "server"), append([]string{"-l", tn.udp, "-t", tn.target}, tn.common...)...)
	tn.server.waitLog(t, 10*time.Second, "listening")
}

// dial connects to the client's local port.
func (tn *tunnel) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", tn.local)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
