package config

import (
	"testing"
)

func withPreset(c Common, nodelay, interval, resend, nc int) Common {
	c.NoDelay, c.Interval, c.Resend, c.NoCongestion = nodelay, interval, resend, nc
	return c
}

func TestRoleDefaults(t *testing.T) {
	common := Common{
		Key: "it's a secrect", Crypt: "aes", Mode: "fast", QPPCount: 61, MTU: 1350,
		DataShard: 10, ParityShard: 3, DSCP: 0, SockBuf: 4194304, SmuxVer: 1,
		SmuxBuf: 4194304, StreamBuf: 2097152, KeepAlive: 10, SnmpPeriod: 60,
		NoDelay: 0, Interval: 50, Resend: 0, NoCongestion: 0, SendCtl: SendCtlDelay,
	}
	wantClient := Client{Common: common, LocalAddr: ":12948", RemoteAddr: "vps:29900", Conn: 2, AutoExpire: 0, ScavengeTTL: 600}
	wantClient.SndWnd, wantClient.RcvWnd = 128, 512
	wantServer := Server{Common: common, Listen: ":29900", Target: "127.0.0.1:12948"}
	wantServer.SndWnd, wantServer.RcvWnd = 1024, 1024

	if got := DefaultClient(); got != wantClient {
		t.Errorf("DefaultClient() =\n%+v\nwant\n%+v", got, wantClient)
	}
	if got := DefaultServer(); got != wantServer {
		t.Errorf("DefaultServer() =\n%+v\nwant\n%+v", got, wantServer)
	}

	// Loaded with no arguments: the defaults with the "fast" preset, and
	// under the send control the default windows as AutoWnd ceilings.
	wantClient.Common = withPreset(wantClient.Common, 0, 30, 2, 1)
	wantClient.SndWnd, wantClient.RcvWnd = AutoWnd, AutoWnd
	wantServer.SndWnd, wantServer.RcvWnd = AutoWnd, AutoWnd
	if got := mustLoadClient(t, nil); *got != wantClient {
		t.Errorf("LoadClient(nil) =\n%+v\nwant\n%+v", *got, wantClient)
	}
	wantServer.Common = withPreset(wantServer.Common, 0, 30, 2, 1)
	if got := mustLoadServer(t, nil); *got != wantServer {
		t.Errorf("LoadServer(nil) =\n%+v\nwant\n%+v", *got, wantServer)
	}
}

func TestKeyFromEnvironmentOnlyWhenFlagAbsent(t *testing.T) {
	e := env{EnvKey: "from-env"}.get
	if got := mustLoadClient(t, e).Key; got != "from-env" {
		t.Errorf("KCPTUN_KEY without --key: key %q, want from-env", got)
	}
	if got := mustLoadServer(t, e, "--key", "from-flag").Key; got != "from-flag" {
		t.Errorf("--key with KCPTUN_KEY: key %q, want from-flag", got)
	}
	if got := mustLoadClient(t, e, "-key=").Key; got != "" {
		t.Errorf("empty --key with KCPTUN_KEY: key %q, want empty", got)
	}
	if got := mustLoadClient(t, env{}.get).Key; got != DefaultKey {
		t.Errorf("no --key, no KCPTUN_KEY: key %q, want the default", got)
	}
	file := writeFile(t, "c.json", `{"key": "from-file"}`)
	if got := mustLoadClient(t, e, "--key", "from-flag", "-c", file).Key; got != "from-file" {
		t.Errorf("JSON key over flag and env: key %q, want from-file", got)
	}
}

func TestJSONOverridesOnlyTheKeysItHas(t *testing.T) {
	file := writeFile(t, "c.json", `{"mtu": 1200, "remoteaddr": "example.com:4000-4010", "nocomp": false}`)
	c := mustLoadClient(t, nil, "-mtu", "1400", "-sndwnd", "99", "-nocomp", "-r", "flag:1", "-c", file)
	if c.MTU != 1200 || c.RemoteAddr != "example.com:4000-4010" || c.NoComp {
		t.Errorf("keys in the file: mtu %d remoteaddr %q nocomp %v, want 1200, example.com:4000-4010, false", c.MTU, c.RemoteAddr, c.NoComp)
	}
	if c.SndWnd != 99 || c.RcvWnd != AutoWnd {
		t.Errorf("keys not in the file: sndwnd %d rcvwnd %d, want flag 99 and the default (%d under the send control)", c.SndWnd, c.RcvWnd, AutoWnd)
	}
}

func TestModePresetOverwritesHiddenFlagsExceptManual(t *testing.T) {
	tests := []struct {
		name string
		args []string
		json string
		want [4]int // nodelay, interval, resend, nc
	}{
		{"default fast", nil, "", [4]int{0, 30, 2, 1}},
		{"normal", []string{"-mode", "normal"}, "", [4]int{0, 40, 2, 1}},
		{"fast2", []string{"--mode", "fast2"}, "", [4]int{1, 20, 2, 1}},
		{"fast3 beats flags", []string{"-mode", "fast3", "-nodelay", "0", "-interval", "99", "-resend", "0", "-nc", "0"}, "", [4]int{1, 10, 2, 1}},
		{"preset beats JSON", nil, `{"mode": "fast2", "nodelay": 0, "interval": 100, "resend": 5, "nc": 0}`, [4]int{1, 20, 2, 1}},
		{"manual defaults", []string{"-mode", "manual"}, "", [4]int{0, 50, 0, 0}},
		{"manual keeps flags", []string{"-mode", "manual", "-nodelay", "1", "-interval", "15", "-resend", "3", "-nc", "1"}, "", [4]int{1, 15, 3, 1}},
		{"manual keeps JSON", []string{"-interval", "77"}, `{"mode": "manual", "nodelay": 1, "resend": 2}`, [4]int{1, 77, 2, 0}},
	}
	for _, tt := range tests {
		args := tt.args
		if tt.json != "" {
			args = append(args, "-c", writeFile(t, "c.json", tt.json))
		}
		s := mustLoadServer(t, nil, args...)
		if got := [4]int{s.NoDelay, s.Interval, s.Resend, s.NoCongestion}; got != tt.want {
			t.Errorf("%s: nodelay/interval/resend/nc = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestModePreset(t *testing.T) {
	if nd, iv, rs, nc, ok := ModePreset("fast3"); !ok || [4]int{nd, iv, rs, nc} != [4]int{1, 10, 2, 1} {
		t.Errorf("ModePreset(fast3) = %d %d %d %d %v", nd, iv, rs, nc, ok)
	}
	for _, m := range []string{"manual", "turbo", ""} {
		if _, _, _, _, ok := ModePreset(m); ok {
			t.Errorf("ModePreset(%q) ok, want not a preset", m)
		}
	}
}

func TestOneAndTwoDashFormsAgree(t *testing.T) {
	one := mustLoadClient(t, nil, "-mode", "fast3", "-nocomp", "-autoexpire", "900", "-sockbuf", "16777217", "-dscp", "46")
	two := mustLoadClient(t, nil, "--mode", "fast3", "--nocomp", "--autoexpire", "900", "--sockbuf=16777217", "--dscp=46")
	if *one != *two {
		t.Errorf("one dash %+v\ntwo dashes %+v", *one, *two)
	}
	if one.Mode != "fast3" || !one.NoComp || one.AutoExpire != 900 || one.SockBuf != 16777217 || one.DSCP != 46 || one.Interval != 10 {
		t.Errorf("kcptun README flags not applied: %+v", *one)
	}
}

func TestShortNamesAndAliases(t *testing.T) {
	c := mustLoadClient(t, nil, "-l", "127.0.0.1:8388", "-r", "[::1]:4000-4010", "--ds", "0", "-ps", "7")
	if c.LocalAddr != "127.0.0.1:8388" || c.RemoteAddr != "[::1]:4000-4010" || c.DataShard != 0 || c.ParityShard != 7 {
		t.Errorf("client -l -r --ds -ps: %+v", *c)
	}
	c = mustLoadClient(t, nil, "--localaddr", "/tmp/k.sock", "--remoteaddr", "vps:1", "--datashard", "4", "--parityshard", "2")
	if c.LocalAddr != "/tmp/k.sock" || c.RemoteAddr != "vps:1" || c.DataShard != 4 || c.ParityShard != 2 {
		t.Errorf("client long names: %+v", *c)
	}
	s := mustLoadServer(t, nil, "-l", ":4000-4010", "-t", "/run/target.sock", "-QPP", "-QPPCount", "7")
	if s.Listen != ":4000-4010" || s.Target != "/run/target.sock" || !s.QPP || s.QPPCount != 7 {
		t.Errorf("server -l -t -QPP -QPPCount: %+v", *s)
	}
	s = mustLoadServer(t, nil, "--listen", ":1", "--target", "h:2")
	if s.Listen != ":1" || s.Target != "h:2" {
		t.Errorf("server long names: %+v", *s)
	}
}

func TestEveryCommonFlagReachesItsField(t *testing.T) {
	args := []string{
		"--key", "k", "--crypt", "aes-128-gcm", "--mode", "manual", "--QPP", "--QPPCount", "13",
		"--mtu", "1400", "--sndwnd", "11", "--rcvwnd", "12", "--ds", "5", "--ps", "2", "--dscp", "8",
		"--nocomp", "--acknodelay", "--nodelay", "1", "--interval", "20", "--resend", "2", "--nc", "1",
		"--sockbuf", "1000", "--smuxver", "2", "--smuxbuf", "3000", "--streambuf", "2000",
		"--keepalive", "5", "--snmplog", "s.log", "--snmpperiod", "7", "--log", "k.log",
		"--quiet", "--tcp", "--pprof", "--metrics", "127.0.0.1:9100", "--sendctl", "off",
	}
	want := Common{
		Key: "k", Crypt: "aes-128-gcm", Mode: "manual", QPP: true, QPPCount: 13, MTU: 1400,
		SndWnd: 11, RcvWnd: 12, DataShard: 5, ParityShard: 2, DSCP: 8, NoComp: true,
		AckNodelay: true, NoDelay: 1, Interval: 20, Resend: 2, NoCongestion: 1, SockBuf: 1000,
		SmuxVer: 2, SmuxBuf: 3000, StreamBuf: 2000, KeepAlive: 5, SnmpLog: "s.log",
		SnmpPeriod: 7, Log: "k.log", Quiet: true, TCP: true, Pprof: true, Metrics: "127.0.0.1:9100",
		SendCtl: SendCtlOff,
	}
	if got := mustLoadClient(t, nil, args...).Common; got != want {
		t.Errorf("client Common =\n%+v\nwant\n%+v", got, want)
	}
	if got := mustLoadServer(t, nil, args...).Common; got != want {
		t.Errorf("server Common =\n%+v\nwant\n%+v", got, want)
	}
	c := mustLoadClient(t, nil, "--conn", "3", "--autoexpire", "60", "--scavengettl", "5")
	if c.Conn != 3 || c.AutoExpire != 60 || c.ScavengeTTL != 5 {
		t.Errorf("client-only flags: %+v", *c)
	}
}

func TestApplyModePresetOnDefaults(t *testing.T) {
	c := DefaultClient()
	c.ApplyModePreset()
	if got := [4]int{c.NoDelay, c.Interval, c.Resend, c.NoCongestion}; got != [4]int{0, 30, 2, 1} {
		t.Errorf("DefaultClient after ApplyModePreset: %v, want the fast preset", got)
	}
	c.Mode, c.Interval = ModeManual, 33
	c.ApplyModePreset()
	if c.Interval != 33 {
		t.Errorf("manual: interval %d, want 33 kept", c.Interval)
	}
}

// TestAutoModeRaisesDefaultWindowsOnly: --mode auto starts from fast3's
// preset and turns the role's default windows into AutoWnd ceilings; a
// window the user gave stays as given. Any send control does the same
// (it sizes the windows at run time); --sendctl off keeps kcptun's.
func TestAutoModeRaisesDefaultWindowsOnly(t *testing.T) {
	c := mustLoadClient(t, nil, "--mode", "auto")
	if got := [4]int{c.NoDelay, c.Interval, c.Resend, c.NoCongestion}; got != [4]int{1, 10, 2, 1} {
		t.Errorf("auto preset %v, want fast3's", got)
	}
	if c.SndWnd != AutoWnd || c.RcvWnd != AutoWnd {
		t.Errorf("client windows %d/%d, want %d/%d", c.SndWnd, c.RcvWnd, AutoWnd, AutoWnd)
	}
	s := mustLoadServer(t, nil, "--mode", "auto", "--rcvwnd", "256")
	if s.SndWnd != AutoWnd || s.RcvWnd != 256 {
		t.Errorf("server windows %d/%d, want %d/256 (the given receive window kept)", s.SndWnd, s.RcvWnd, AutoWnd)
	}
	f := mustLoadClient(t, nil, "--mode", "fast3")
	if f.SndWnd != AutoWnd || f.RcvWnd != AutoWnd {
		t.Errorf("fast3 windows %d/%d under the send control, want %d/%d", f.SndWnd, f.RcvWnd, AutoWnd, AutoWnd)
	}
	off := mustLoadClient(t, nil, "--mode", "fast3", "--sendctl", "off")
	if off.SndWnd != 128 || off.RcvWnd != 512 {
		t.Errorf("fast3 windows %d/%d with --sendctl off, want kcptun's defaults 128/512", off.SndWnd, off.RcvWnd)
	}
	srv := mustLoadServer(t, nil, "--mode", "fast2", "--sndwnd", "700")
	if srv.SndWnd != 700 || srv.RcvWnd != AutoWnd {
		t.Errorf("server windows %d/%d, want 700 (given) and %d", srv.SndWnd, srv.RcvWnd, AutoWnd)
	}
}

// The client has two sessions unless --conn says otherwise, in every mode.
func TestDefaultConnIsTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"--mode", "auto"}, 2},
		{[]string{"--mode", "fast3", "--conn", "1"}, 1},
		{[]string{"--conn", "4"}, 4},
	} {
		if c := mustLoadClient(t, nil, tc.args...); c.Conn != tc.want {
			t.Errorf("%v: conn %d, want %d", tc.args, c.Conn, tc.want)
		}
	}
}
