package main

import (
	"os"
	"strings"
	"testing"

	"github.com/kcptun-go/tunnel/internal/mainexec"
)

func TestMain(m *testing.M) {
	mainexec.Dispatch("client", main)
	os.Exit(m.Run())
}

// client runs the client as a user would and returns its exit code,
// stdout and stderr.
func client(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return mainexec.Run(t, args...)
}

// Every bad value is reported at once, naming the flag and what is
// allowed, with exit status 1 and no panic (kcptun panics on --conn 0 and
// --QPPCount 0 and takes unknown names silently).
func TestBadValuesExitNonZeroNamingEveryFlag(t *testing.T) {
	code, _, stderr := client(t, "-crypt", "rot13", "-mode", "turbo", "-mtu", "1501", "-conn", "0",
		"-QPP", "-QPPCount", "0", "-smuxver", "3", "-keepalive", "30", "-r", "vps:9-1")
	if code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, frag := range []string{
		`--crypt "rot13"`, "aes-128-gcm", `--mode "turbo"`, "fast3, fast2, fast, normal, manual",
		"--mtu 1501", "and 1500", "--conn 0", "1 or more", "--QPPCount 0", "--smuxver 3", "1 or 2",
		"--keepalive 30", "30 s", "--remoteaddr",
	} {
		if !strings.Contains(stderr, frag) {
			t.Errorf("stderr lacks %q:\n%s", frag, stderr)
		}
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("the client panicked:\n%s", stderr)
	}
}

func TestConfigFileErrorsExitNonZero(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/c.json"
	if err := os.WriteFile(bad, []byte(`{"mtu": 1350, "bogus": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, frag string }{
		{bad, `unknown key "bogus"`},
		{dir + "/missing.json", "missing.json"},
	} {
		code, _, stderr := client(t, "-c", tc.file)
		if code != 1 || !strings.Contains(stderr, tc.frag) {
			t.Errorf("-c %s: exit %d, stderr %q; want 1 and %q", tc.file, code, stderr, tc.frag)
		}
	}
}

func TestVersionAndUnknownFlag(t *testing.T) {
	code, stdout, _ := client(t, "-v")
	if code != 0 || stdout != "kcptun version SELFBUILD\n" {
		t.Errorf("-v: exit %d, stdout %q; want 0 and \"kcptun version SELFBUILD\\n\"", code, stdout)
	}
	code, _, stderr := client(t, "--no-such-flag")
	if code != 1 || !strings.Contains(stderr, "no-such-flag") {
		t.Errorf("unknown flag: exit %d, stderr %q; want 1 naming the flag", code, stderr)
	}
}
