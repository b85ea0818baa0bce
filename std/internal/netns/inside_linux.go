package netns

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// inside is set on the inner run that RunInside starts.
var inside = flag.String("netns.inside", "", "set by netns.RunInside: the namespace this test process runs in")

// Inside reports whether this test process is the inner run of RunInside,
// running wholly inside a namespace (every thread, every child process).
func Inside() bool { return *inside != "" }

// RunInside runs the test named test (of the calling test binary) again,
// in a new process inside ns, and fails t unless it passes there. Use it
// when the code under test starts goroutines and commands of its own,
// which Do cannot keep inside the namespace:
//
//	if !netns.Inside() {
//		netns.Require(t)
//		netns.RunInside(t, netns.New(t, "x"), t.Name())
//		return
//	}
func RunInside(t testing.TB, ns *NS, test string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name,
		os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v", "-netns.inside="+ns.Name)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s inside namespace %s: %v\n%s", test, ns.Name, err, out)
	}
	t.Logf("%s inside namespace %s:\n%s", test, ns.Name, out)
}
