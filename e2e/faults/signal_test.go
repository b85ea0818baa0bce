//go:build linux

package faults

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/app"
)

// On SIGTERM or SIGINT each binary stops accepting, lets the stream in
// flight finish (it lasts about 2 s, well within app.GracePeriod), exits
// 0 and leaves its port free.
func TestStopSignalDrains(t *testing.T) {
	const (
		chunks = 40
		pause  = 50 * time.Millisecond
	)
	cases := []struct {
		victim string
		sig    os.Signal
	}{
		{"client", syscall.SIGTERM},
		{"client", syscall.SIGINT},
		{"server", syscall.SIGTERM},
		{"server", syscall.SIGINT},
	}
	for _, tc := range cases {
		t.Run(tc.victim+"-"+tc.sig.String(), func(t *testing.T) {
			t.Parallel()
			tn := startTunnel(t, startTarget(t), nil)
			first := tn.dial(t)
			if err := exchange(first, 1, 10*time.Second); err != nil {
				t.Fatalf("before the signal: %v", err)
			}
			first.Close()
			slow := tn.dial(t)
			slow.SetDeadline(time.Now().Add(app.GracePeriod + 10*time.Second))
			if err := ask(slow, 100, chunks, pause); err != nil {
				t.Fatal(err)
			}
			if err := readChunks(slow, 100, 0, 1); err != nil {
				t.Fatal(err)
			}

			victim := tn.client
			if tc.victim == "server" {
				victim = tn.server
			}
			signalled := time.Now()
			if err := victim.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			victim.waitLog(t, 5*time.Second, "shutting down")

			// New connections are refused while the slow stream runs.
			if tc.victim == "client" {
				refusedWithin(t, tn.local, 5*time.Second)
			} else {
				c := tn.dial(t)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				ask(c, 200, 2, 0)
				if n, err := io.Copy(io.Discard, c); n != 0 || isTimeout(err) {
					t.Fatalf("a new stream through the draining server got %d bytes, %v; want it closed", n, err)
				}
			}
			select {
			case <-victim.exited:
				t.Fatalf("%s exited before the stream in flight finished", tc.victim)
			default:
			}

			if err := readChunks(slow, 100, 1, chunks); err != nil {
				t.Fatalf("stream in flight: %v", err)
			}
			if n, err := slow.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("after the stream in flight: %d bytes, %v; want EOF", n, err)
			}
			slow.Close() // the application is done: the stream ends
			if code := victim.exitCode(t, app.GracePeriod+5*time.Second); code != 0 {
				t.Fatalf("%s exited with %d, want 0", tc.victim, code)
			}
			if d := time.Since(signalled); d > app.GracePeriod {
				t.Errorf("%s took %v to exit, more than the %v grace period", tc.victim, d, app.GracePeriod)
			}
			portFree(t, tc.victim, tn)
		})
	}
}

// refusedWithin waits until connecting to addr is refused.
func refusedWithin(t *testing.T, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.Dial("tcp", addr)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		if err == nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections %v after the signal (%v)", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the port, not synchronising
	}
}

// portFree checks that the exited process released its listening port.
func portFree(t *testing.T, role string, tn *tunnel) {
	t.Helper()
	if role == "server" {
		c, err := net.ListenPacket("udp", tn.udp)
		if err != nil {
			t.Fatalf("the server's UDP port after exit: %v", err)
		}
		c.Close()
		return
	}
	ln, err := net.Listen("tcp", tn.local)
	if err != nil {
		t.Fatalf("the client's TCP port after exit: %v", err)
	}
	ln.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
