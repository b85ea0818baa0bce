package tunnel

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects a logger's text output for tests that check what
// was logged; it also copies it to the test output when verbose.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tb  testing.TB
}

// captureLog returns a logger writing records of level and above to a
// logBuffer.
func captureLog(tb testing.TB, level slog.Level) (*slog.Logger, *logBuffer) {
	lb := &logBuffer{tb: tb}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: level})), lb
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if testing.Verbose() {
		b.tb.Logf("log: %s", bytes.TrimRight(p, "\n"))
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the logged lines that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := l != ""
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// waitLine waits up to d for a line containing every one of subs.
func (b *logBuffer) waitLine(d time.Duration, subs ...string) (string, bool) {
	deadline := time.Now().Add(d)
	for {
		if l := b.lines(subs...); len(l) > 0 {
			return l[0], true
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(10 * time.Millisecond) // polling the log, not synchronising
	}
}
