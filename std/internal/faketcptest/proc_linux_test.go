package faketcptest

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running command whose output is kept and can be waited on.
type proc struct {
	name string
	cmd  *exec.Cmd

	mu      sync.Mutex
	out     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, set before done closes
}

// start runs cmd; t.Cleanup kills it if it is still running.
func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, changed: make(chan struct{}), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(b)
	close(p.changed)
	p.changed = make(chan struct{})
	return len(b), nil
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits until the output holds s at least n times.
func (p *proc) waitOutput(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		count, changed := strings.Count(p.out.String(), s), p.changed
		p.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-changed:
		case <-p.done:
			if strings.Count(p.output(), s) >= n {
				return
			}
			t.Fatalf("%s exited before printing %q %d times:\n%s", p.name, s, n, p.output())
		case <-deadline.C:
			t.Fatalf("%s did not print %q %d times within %v:\n%s", p.name, s, n, timeout, p.output())
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s still running after %v:\n%s", p.name, timeout, p.output())
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		t.Fatalf("%s: %v", p.name, err)
		return -1
	}
}

// stop sends sig and returns the exit code.
func (p *proc) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", p.name, err)
	}
	return p.wait(t, timeout)
}
