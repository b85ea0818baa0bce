package main

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/kcptun-go/tunnel/internal/mainexec"
)

func TestMain(m *testing.M) {
	mainexec.Dispatch("server", main)
	os.Exit(m.Run())
}

// server runs the server as a user would and returns its exit code and
// stderr.
func server(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, _, stderr := mainexec.Run(t, args...)
	return code, stderr
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
