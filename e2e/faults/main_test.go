//go:build linux

package faults

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The binaries built once by TestMain: binDir holds them; otherwise
// skipReason says why the tests skip or buildErr why they fail.
var (
	binDir, skipReason string
	buildErr           error
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "e2e-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	switch goBin, err := exec.LookPath("go"); {
	case testing.Short():
		skipReason = "-short: the binaries are not built"
	case err != nil:
		skipReason = "go not on PATH, cannot build the binaries: " + err.Error()
	default:
		if buildErr = build(goBin, dir); buildErr == nil {
			binDir = dir
		}
	}
	return m.Run()
}

// build compiles the client and server into dir.
func build(goBin, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/kcptun-go/tunnel/client", "github.com/kcptun-go/tunnel/server")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build client server: %w\n%s", err, out)
	}
	return nil
}

// built returns the path of a built binary; the test skips when none
// were built and fails when the build failed.
func built(t *testing.T, name string) string {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	if binDir == "" {
		t.Skip(skipReason)
	}
	return filepath.Join(binDir, name)
}
