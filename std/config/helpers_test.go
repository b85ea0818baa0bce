package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env is a fake environment for the getenv parameter.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// writeFile writes content to a file in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoadClient(t *testing.T, getenv func(string) string, args ...string) *Client {
	t.Helper()
	c, _, err := LoadClient(args, getenv)
	if err != nil {
		t.Fatalf("LoadClient(%q): %v", args, err)
	}
	return c
}

func mustLoadServer(t *testing.T, getenv func(string) string, args ...string) *Server {
	t.Helper()
	s, _, err := LoadServer(args, getenv)
	if err != nil {
		t.Fatalf("LoadServer(%q): %v", args, err)
	}
	return s
}

// wantFragments fails unless err is non-nil and contains every fragment.
func wantFragments(t *testing.T, what string, err error, frags ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one containing %q", what, frags)
		return
	}
	for _, f := range frags {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: error %q lacks %q", what, err, f)
		}
	}
}
