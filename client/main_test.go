package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runAsClient is set in the environment of the test binary re-executed as
// the client: TestMain then runs main with the arguments after "--".
const runAsClient = "KCPTUN_TEST_RUN_CLIENT"

func TestMain(m *testing.M) {
	if os.Getenv(runAsClient) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"client"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0) // main returned without exiting: report it as success
	}
	os.Exit(m.Run())
}

// client runs the client binary with args and returns its exit code,
// stdout and stderr.
func client(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A run that does not exit (a bad value taken as good) fails, not hangs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), runAsClient+"=1", "KCPTUN_KEY=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errOut.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	}
	t.Fatal(err)
	return 0, "", ""
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
