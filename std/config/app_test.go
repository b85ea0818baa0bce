package config

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	for _, arg := range []string{"-v", "--version"} {
		var out bytes.Buffer
		ran := false
		app := NewClientApp("20260101", nil, func(*Client, []string) error { ran = true; return nil })
		app.Writer = &out
		if err := app.Run([]string{"client", arg}); err != nil {
			t.Errorf("client %s: %v", arg, err)
		}
		if out.String() != "kcptun version 20260101\n" || ran {
			t.Errorf("client %s printed %q (ran %v), want \"kcptun version 20260101\\n\"", arg, out.String(), ran)
		}
	}
	var out bytes.Buffer
	app := NewServerApp("X", nil, func(*Server, []string) error { return errors.New("must not run") })
	app.Writer = &out
	if err := app.Run([]string{"server", "-v"}); err != nil || out.String() != "kcptun version X\n" {
		t.Errorf("server -v: %q, %v", out.String(), err)
	}
	if _, _, err := LoadClient([]string{"-v"}, nil); !errors.Is(err, ErrVersion) {
		t.Errorf("LoadClient(-v) error %v, want ErrVersion", err)
	}
}

func TestHelpFlag(t *testing.T) {
	var out bytes.Buffer
	app := NewServerApp("X", nil, func(*Server, []string) error { return errors.New("must not run") })
	app.Writer = &out
	if err := app.Run([]string{"server", "-h"}); err != nil {
		t.Fatalf("server -h: %v", err)
	}
	help := out.String()
	for _, want := range []string{"--listen value, -l value", "--target value, -t value", "--datashard value, --ds value",
		`--key value`, "KCPTUN_KEY", `"it's a secrect"`, "aes-128-gcm", "fast3, fast2, fast, normal, manual",
		"--QPPCount value", "--help, -h", "--version, -v", "VERSION:\n   X"} {
		if !strings.Contains(help, want) {
			t.Errorf("server help lacks %q:\n%s", want, help)
		}
	}
	for _, hidden := range []string{"--nodelay", "--interval", "--resend", "--nc ", "--acknodelay", "--conn", "--autoexpire"} {
		if strings.Contains(help, hidden) {
			t.Errorf("server help shows %q", hidden)
		}
	}
	if _, _, err := LoadServer([]string{"--help"}, nil); !errors.Is(err, ErrHelp) {
		t.Errorf("LoadServer(--help) error %v, want ErrHelp", err)
	}
}

func TestAppRunsWithConfigAndWarnings(t *testing.T) {
	var got *Client
	var warnings []string
	app := NewClientApp("X", env{EnvKey: "k"}.get, func(c *Client, w []string) error { got, warnings = c, w; return nil })
	if err := app.Run([]string{"client", "-r", "h:1", "-QPP"}); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.RemoteAddr != "h:1" || got.Key != "k" || !got.QPP {
		t.Fatalf("run got %+v", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "QPP Warning") {
		t.Errorf("warnings %q, want the short-key QPP warning", warnings)
	}
	// A second Run starts from the defaults again and leaves the first result alone.
	if err := app.Run([]string{"client"}); err != nil {
		t.Fatal(err)
	}
	if got.RemoteAddr != "vps:29900" || got.QPP {
		t.Errorf("second run got %+v, want defaults", got)
	}
}

func TestAppReturnsConfigErrorsWithoutRunning(t *testing.T) {
	ran := false
	app := NewServerApp("X", nil, func(*Server, []string) error { ran = true; return nil })
	app.Writer = &bytes.Buffer{}
	err := app.Run([]string{"server", "-l", "::1:4000", "-crypt", "rot13"})
	if ran {
		t.Error("run called with a bad configuration")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not wrap ErrInvalid", err)
	}
	wantFragments(t, "server bad config", err, "--listen", "[::1]:4000", `--crypt "rot13"`)

	runErr := errors.New("boom")
	app = NewServerApp("X", nil, func(*Server, []string) error { return runErr })
	if err := app.Run([]string{"server"}); !errors.Is(err, runErr) {
		t.Errorf("run error not returned: %v", err)
	}
}

func TestCommandLineMistakes(t *testing.T) {
	tests := []struct {
		args  []string
		frags []string
	}{
		{[]string{"-bogus"}, []string{"bogus", "client -h"}},
		{[]string{"-mtu", "big"}, []string{"big", "mtu"}},
		{[]string{"-r", "h:1", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"-listen", ":1"}, []string{"listen"}}, // a server flag on the client
	}
	for _, tt := range tests {
		_, _, err := LoadClient(tt.args, nil)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("LoadClient(%q) error %v, want ErrUsage", tt.args, err)
		}
		wantFragments(t, strings.Join(tt.args, " "), err, tt.frags...)
	}
	if _, _, err := LoadServer([]string{"-conn", "2"}, nil); !errors.Is(err, ErrUsage) {
		t.Errorf("server -conn: error %v, want ErrUsage", err)
	}
}

func TestFlagNames(t *testing.T) {
	client, server := ClientFlagNames(), ServerFlagNames()
	shared := []string{"key", "crypt", "mode", "QPP", "QPPCount", "mtu", "sndwnd", "rcvwnd",
		"datashard", "ds", "parityshard", "ps", "dscp", "nocomp", "sockbuf", "smuxver", "smuxbuf",
		"streambuf", "keepalive", "snmplog", "snmpperiod", "log", "quiet", "tcp", "c", "pprof", "metrics", "sendctl",
		"help", "h", "version", "v",
		"acknodelay (hidden)", "nodelay (hidden)", "interval (hidden)", "resend (hidden)", "nc (hidden)"}
	wantClient := append([]string{"localaddr", "l", "remoteaddr", "r", "conn", "autoexpire", "scavengettl"}, shared...)
	wantServer := append([]string{"listen", "l", "target", "t"}, shared...)
	slices.Sort(wantClient)
	slices.Sort(wantServer)
	if got := slices.Sorted(slices.Values(client)); !slices.Equal(got, wantClient) {
		t.Errorf("ClientFlagNames() = %q\nwant %q", got, wantClient)
	}
	if got := slices.Sorted(slices.Values(server)); !slices.Equal(got, wantServer) {
		t.Errorf("ServerFlagNames() = %q\nwant %q", got, wantServer)
	}
}
