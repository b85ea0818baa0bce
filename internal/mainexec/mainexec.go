// Package mainexec lets a command's tests run its main as a user would: in
// a child process (the test binary run again), with the exit code, stdout
// and stderr to check. It is for tests only.
package mainexec

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// envVar marks the test binary run again as the command.
const envVar = "KCPTUN_TEST_RUN_MAIN"

// Dispatch is called first in the command's TestMain. In the test binary
// run again by Run it calls main with the arguments after "--" (as the
// command name) and exits, 0 if main returns; otherwise it returns.
func Dispatch(name string, main func()) {
	if os.Getenv(envVar) != "1" {
		return
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Args = append([]string{name}, os.Args[i+1:]...)
			break
		}
	}
	main()
	os.Exit(0)
}

// Run runs the test binary again as the command with args, without
// KCPTUN_KEY in its environment, and returns its exit code, stdout and
// stderr. A run that does not end within a minute (a bad value taken as
// good) is killed, and its exit code is that of the kill.
func Run(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), envVar+"=1", "KCPTUN_KEY=")
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
