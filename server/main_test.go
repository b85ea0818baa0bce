package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runAsServer is set in the environment of the test binary re-executed as
// the server: TestMain then runs main with the arguments after "--".
const runAsServer = "KCPTUN_TEST_RUN_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(runAsServer) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"server"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0) // main returned without exiting: report it as success
	}
	os.Exit(m.Run())
}

// server runs the server binary with args and returns its exit code and
// stderr.
func server(t *testing.T, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A run that does not exit (a bad value taken as good) fails, not hangs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), runAsServer+"=1", "KCPTUN_KEY=")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, errOut.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), errOut.String()
	}
	t.Fatal(err)
	return 0, ""
}

// kcptun v20240729 exits 0 after a bad --listen; the server exits 1 and
// says why, both for a malformed address and for a port it cannot bind.
func TestBadListenExitsNonZero(t *testing.T) {
	code, stderr := server(t, "-l", "127.0.0.1:4010-4000", "-t", "127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, `--listen "127.0.0.1:4010-4000"`) || !strings.Contains(stderr, "MIN <= MAX") {
		t.Errorf("reversed range: exit %d, stderr %q; want 1 naming --listen and MIN <= MAX", code, stderr)
	}

	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.LocalAddr().String()
	code, stderr = server(t, "-l", addr, "-t", "127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, addr) {
		t.Errorf("port in use: exit %d, stderr %q; want 1 naming %s", code, stderr, addr)
	}
}

func TestBadValuesExitNonZeroNamingEveryFlag(t *testing.T) {
	code, stderr := server(t, "-crypt", "rot13", "-mtu", "40", "-QPPCount", "0",
		"-smuxbuf", "1000", "-streambuf", "2000", "-t", "")
	if code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, frag := range []string{
		`--crypt "rot13"`, "--mtu 40", "and 1500", "--QPPCount 0", "between 1 and 65535",
		"--streambuf 2000", "--smuxbuf 1000", `--target ""`,
	} {
		if !strings.Contains(stderr, frag) {
			t.Errorf("stderr lacks %q:\n%s", frag, stderr)
		}
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("the server panicked:\n%s", stderr)
	}
}
