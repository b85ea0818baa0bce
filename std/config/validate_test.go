package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/xtaci/qpp"
)

func TestBadValuesAreReportedWithFlagAndAllowedValues(t *testing.T) {
	tests := []struct {
		server bool
		args   []string
		frags  []string
	}{
		{false, []string{"-crypt", "rot13"}, []string{`--crypt "rot13"`, "aes-128-gcm", "sm4", "null"}},
		{true, []string{"-mode", "turbo"}, []string{`--mode "turbo"`, "fast3, fast2, fast, normal, manual, auto"}},
		{false, []string{"-mode", "auto", "-sendctl", "off"}, []string{`--sendctl "off"`, "--mode auto needs the send control"}},
		{false, []string{"-mtu", "1501"}, []string{"--mtu 1501", "between 78 and 1500"}},
		{false, []string{"-mtu", "77"}, []string{"--mtu 77", "between 78 and 1500"}},
		{true, []string{"-mtu", "77", "-crypt", "aes-128-gcm", "-ds", "0"}, []string{"--mtu 77", "between 78 and 1500"}},
		{false, []string{"-conn", "0"}, []string{"--conn 0", "1 or more"}},
		{true, []string{"-QPPCount", "0"}, []string{"--QPPCount 0", "between 1 and 65535"}},
		{true, []string{"-QPP", "-QPPCount", "65536"}, []string{"--QPPCount 65536", "between 1 and 65535"}},
		{false, []string{"-smuxver", "3"}, []string{"--smuxver 3", "1 or 2"}},
		{true, []string{"-sendctl", "bbr"}, []string{"--sendctl", "bbr", "delay, rate, off"}},
		{false, []string{"-sendctl", "rate", "-ps", "0"}, []string{`--sendctl "rate"`, "needs FEC", "--sendctl delay"}},
		{true, []string{"-sendctl", "rate", "-crypt", "aes-128-gcm"}, []string{`--sendctl "rate"`, "other than aes-128-gcm"}},
		{true, []string{"-keepalive", "30"}, []string{"--keepalive 30", "between 1 and 29", "30 s smux"}},
		{false, []string{"-keepalive", "0"}, []string{"--keepalive 0", "between 1 and 29"}},
		{true, []string{"-streambuf", "4194305"}, []string{"--streambuf 4194305", "--smuxbuf 4194304"}},
		{false, []string{"-smuxbuf", "0", "-streambuf", "0"}, []string{"--smuxbuf 0", "--streambuf 0", "between 1 and"}},
		{true, []string{"-sndwnd", "0", "-rcvwnd", "-1"}, []string{"--sndwnd 0", "--rcvwnd -1", "1 or more"}},
		{false, []string{"-ds", "-1", "-ps", "-2"}, []string{"--datashard -1", "--parityshard -2", "0 or more"}},
		{true, []string{"-ds", "200", "-ps", "56"}, []string{"--datashard 200 + --parityshard 56", "256 shards", "at most 255", "0 for either turns FEC off"}},
		{false, []string{"-dscp", "64"}, []string{"--dscp 64", "between 0 and 63"}},
		{true, []string{"-sockbuf", "-1"}, []string{"--sockbuf -1", "0 or more"}},
		{false, []string{"-snmpperiod", "0"}, []string{"--snmpperiod 0", "1 or more"}},
		{false, []string{"-autoexpire", "-1", "-scavengettl", "-5"}, []string{"--autoexpire -1", "--scavengettl -5", "0 or more"}},
		{true, []string{"-mode", "manual", "-interval", "-1"}, []string{"--interval -1", "0 or more"}},
		{false, []string{"-r", "::1:4000"}, []string{`--remoteaddr "::1:4000"`, "brackets", "[::1]:4000"}},
		{false, []string{"-r", "vps:4010-4000"}, []string{`--remoteaddr "vps:4010-4000"`, "MIN <= MAX"}},
		{false, []string{"-r", "vps"}, []string{`--remoteaddr "vps"`, "HOST:PORT or HOST:MIN-MAX"}},
		{false, []string{"-l", ""}, []string{`--localaddr ""`, "unix socket"}},
		{true, []string{"-l", ":0"}, []string{`--listen ":0"`, "1-65535"}},
		{true, []string{"-t", ""}, []string{`--target ""`, "host:port or a unix socket path"}},
	}
	for _, tt := range tests {
		var err error
		if tt.server {
			_, _, err = LoadServer(tt.args, nil)
		} else {
			_, _, err = LoadClient(tt.args, nil)
		}
		what := strings.Join(tt.args, " ")
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", what, err)
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v holds no *FieldError", what, err)
		}
		wantFragments(t, what, err, tt.frags...)
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	file := writeFile(t, "c.json", `{"smuxver": 9}`)
	_, _, err := LoadClient([]string{"-crypt", "x", "-mode", "y", "-mtu", "9999", "-conn", "0",
		"-keepalive", "99", "-r", "h:0", "-dscp", "-1", "-c", file}, nil)
	frags := []string{"--crypt", "--mode", "--mtu", "--conn", "--keepalive", "--remoteaddr", "--dscp", "--smuxver 9"}
	wantFragments(t, "many bad values", err, frags...)
	if n := strings.Count(err.Error(), "\n") + 1; n != len(frags) {
		t.Errorf("%d problems reported, want %d:\n%v", n, len(frags), err)
	}
}

func TestEdgeValuesAreAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"-crypt", "aes-256"},
		{"-crypt", "null", "-mtu", "58"},
		{"-crypt", "aes-128-gcm", "-ds", "0", "-mtu", "78"},
		{"-mtu", "1500", "-ds", "0", "-ps", "0"},
		{"-ds", "200", "-ps", "55", "-dscp", "63", "-sockbuf", "0"},
		{"-ds", "300", "-ps", "0"}, // FEC off
		{"-keepalive", "29", "-smuxver", "2", "-streambuf", "4194304"},
		{"-r", "[::1]:1-65535", "-l", "/tmp/x.sock", "-autoexpire", "0", "-scavengettl", "0"},
		{"-r", ":4000"},
	} {
		if _, _, err := LoadClient(args, nil); err != nil {
			t.Errorf("LoadClient(%q): %v", args, err)
		}
	}
	if _, _, err := LoadServer([]string{"-l", "[::1]:4000-4010", "-t", "/run/t.sock"}, nil); err != nil {
		t.Errorf("server unix target and IPv6 range: %v", err)
	}
}

func TestQPPWarnings(t *testing.T) {
	long := strings.Repeat("k", 210)
	tests := []struct {
		c     Common
		frags []string // one per expected warning
	}{
		{Common{QPP: false, Key: "short", QPPCount: 4}, nil},
		{Common{QPP: true, Key: long, QPPCount: 61}, nil},
		{Common{QPP: true, Key: "short", QPPCount: 61}, []string{"'key' has size of 5 bytes, required 210"}},
		{Common{QPP: true, Key: long, QPPCount: 5}, []string{"QPPCount 5, required 7 at least"}},
		{Common{QPP: true, Key: long, QPPCount: 8}, []string{"QPPCount 8 is not coprime to 8"}},
		{Common{QPP: true, Key: "", QPPCount: 4}, []string{"0 bytes", "required 7", "coprime"}},
	}
	for _, tt := range tests {
		got := tt.c.Warnings()
		if len(got) != len(tt.frags) {
			t.Errorf("Warnings(%+v) = %q, want %d warnings", tt.c, got, len(tt.frags))
			continue
		}
		for i, w := range got {
			if !strings.HasPrefix(w, "QPP Warning: ") || !strings.Contains(w, tt.frags[i]) {
				t.Errorf("warning %q, want \"QPP Warning: ...%s...\"", w, tt.frags[i])
			}
		}
	}
	_, w, err := LoadServer([]string{"-QPP", "-QPPCount", "6"}, nil)
	if err != nil || len(w) != 3 {
		t.Errorf("LoadServer -QPP -QPPCount 6: warnings %q, %v; want 3", w, err)
	}
}

func TestQPPThresholdsMatchTheLibrary(t *testing.T) {
	if got := qpp.QPPMinimumSeedLength(8); got != qppMinKeyLen {
		t.Errorf("qpp.QPPMinimumSeedLength(8) = %d, warning uses %d", got, qppMinKeyLen)
	}
	if got := qpp.QPPMinimumPads(8); got != qppMinPads {
		t.Errorf("qpp.QPPMinimumPads(8) = %d, warning uses %d", got, qppMinPads)
	}
}
