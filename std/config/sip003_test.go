package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// pluginEnv is a SIP003 environment as shadowsocks gives it to a plugin.
func pluginEnv(remoteHost, remotePort, localHost, localPort, opts string) func(string) string {
	return env{
		EnvSSRemoteHost: remoteHost, EnvSSRemotePort: remotePort,
		EnvSSLocalHost: localHost, EnvSSLocalPort: localPort,
		EnvSSPluginOptions: opts,
	}.get
}

func TestPluginClientTakesAddressesFromSSVariables(t *testing.T) {
	tests := []struct {
		remoteHost, localHost string
		wantRemote, wantLocal string
	}{
		{"203.0.113.7", "127.0.0.1", "203.0.113.7:8388", "127.0.0.1:40001"},
		{"vps.example.com", "localhost", "vps.example.com:8388", "localhost:40001"},
		{"2001:db8::1", "::1", "[2001:db8::1]:8388", "[::1]:40001"},
		{"[2001:db8::1]", "[::1]", "[2001:db8::1]:8388", "[::1]:40001"},
	}
	for _, tt := range tests {
		e := pluginEnv(tt.remoteHost, "8388", tt.localHost, "40001", "")
		c := mustLoadClient(t, e, "-r", "ignored:1", "-l", ":2")
		if c.RemoteAddr != tt.wantRemote || c.LocalAddr != tt.wantLocal {
			t.Errorf("SS_REMOTE_HOST=%s SS_LOCAL_HOST=%s: remoteaddr %q localaddr %q, want %q %q",
				tt.remoteHost, tt.localHost, c.RemoteAddr, c.LocalAddr, tt.wantRemote, tt.wantLocal)
		}
	}
}

func TestPluginServerListensOnRemoteAndTargetsLocal(t *testing.T) {
	s := mustLoadServer(t, pluginEnv("::", "8388", "127.0.0.1", "40002", ""), "-l", ":1", "-t", "x:2")
	if s.Listen != "[::]:8388" || s.Target != "127.0.0.1:40002" {
		t.Errorf("listen %q target %q, want [::]:8388 and 127.0.0.1:40002", s.Listen, s.Target)
	}
}

func TestPluginOptionsWinOverFlagsAndFile(t *testing.T) {
	file := writeFile(t, "c.json", `{"mode": "normal", "mtu": 1200, "key": "file", "nocomp": true}`)
	opts := `mode=fast3;crypt=aes-128;key=a\;b\=c\\d==;mtu=1400;nocomp=false;qpp;sndwnd=2048;conn=2`
	c := mustLoadClient(t, pluginEnv("127.0.0.1", "8388", "127.0.0.1", "40001", opts),
		"-c", file, "--mode", "fast", "--crypt", "salsa20", "--tcp")
	want := DefaultClient()
	want.Mode, want.Crypt, want.Key, want.MTU, want.NoComp, want.QPP, want.SndWnd, want.Conn =
		"fast3", "aes-128", `a;b=c\d==`, 1400, false, true, 2048, 2
	want.TCP = true       // from the command line, untouched by the options
	want.RcvWnd = AutoWnd // the default, a ceiling under the send control
	want.RemoteAddr, want.LocalAddr = "127.0.0.1:8388", "127.0.0.1:40001"
	want.ApplyModePreset() // fast3's preset follows the mode the options chose
	if *c != want {
		t.Errorf("loaded\n%+v\nwant\n%+v", *c, want)
	}
	if c.NoDelay != 1 || c.Interval != 10 {
		t.Errorf("mode=fast3: nodelay %d interval %d, want fast3's 1 and 10", c.NoDelay, c.Interval)
	}
}

func TestPluginOptionsBareKeyMeansTrue(t *testing.T) {
	s := mustLoadServer(t, pluginEnv("0.0.0.0", "8388", "127.0.0.1", "40002", "nocomp;quiet=1;tcp=false"))
	if !s.NoComp || !s.Quiet || s.TCP {
		t.Errorf("nocomp;quiet=1;tcp=false: nocomp %v quiet %v tcp %v, want true true false", s.NoComp, s.Quiet, s.TCP)
	}
}

func TestPluginOptionErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, opts string
		server     bool
		frags      []string
	}{
		{"unknown key", "mode=fast;colour=blue", false, []string{`"colour"`, "valid keys:", "crypt", "mtu", "scavengettl"}},
		{"client key on the server", "conn=2", true, []string{`"conn"`, "valid keys:", "mtu"}},
		{"bad mode", "mode=fastest", false, []string{`"mode"`, `"fastest"`, "fast3, fast2, fast, normal, manual"}},
		{"bad crypt", "crypt=rot13", true, []string{`"crypt"`, `"rot13"`, "aes-128", "salsa20"}},
		{"int not a number", "mtu=big", false, []string{`"mtu"`, "integer", `"big"`}},
		{"int without value", "sndwnd", true, []string{`"sndwnd"`, "integer", "no value"}},
		{"bool not a bool", "nocomp=yes", false, []string{`"nocomp"`, "true or false"}},
		{"string without value", "key", false, []string{`"key"`, "wants a value"}},
		{"address key", "remoteaddr=1.2.3.4:5", false, []string{`"remoteaddr"`, "SS_REMOTE_HOST"}},
		{"syntax", `log=C:\logs\kcp.log`, false, []string{"SS_PLUGIN_OPTIONS", `"\l"`, `\\`}},
		{"validated after", "mtu=99999", true, []string{"mtu", "99999"}},
	}
	for _, tt := range tests {
		e := pluginEnv("127.0.0.1", "8388", "127.0.0.1", "40001", tt.opts)
		var err error
		if tt.server {
			_, _, err = LoadServer(nil, e)
		} else {
			_, _, err = LoadClient(nil, e)
		}
		wantFragments(t, tt.name, err, tt.frags...)
		if tt.name != "validated after" && !errors.Is(err, ErrPlugin) {
			t.Errorf("%s: %v does not match ErrPlugin", tt.name, err)
		}
	}
}

func TestPluginEnvironmentMustBeComplete(t *testing.T) {
	_, _, err := LoadClient(nil, env{EnvSSRemoteHost: "1.2.3.4", EnvSSRemotePort: "8388"}.get)
	wantFragments(t, "half the variables", err, "SS_LOCAL_HOST, SS_LOCAL_PORT missing")
	if !errors.Is(err, ErrPlugin) {
		t.Errorf("%v does not match ErrPlugin", err)
	}
	_, _, err = LoadServer(nil, env{EnvSSPluginOptions: "mode=fast3"}.get)
	wantFragments(t, "options alone", err, "SS_PLUGIN_OPTIONS set", "SS_REMOTE_HOST")
	for _, port := range []string{"0", "65536", "http", "-1"} {
		_, _, err = LoadServer(nil, pluginEnv("::", port, "127.0.0.1", "1", ""))
		wantFragments(t, "SS_REMOTE_PORT="+port, err, "SS_REMOTE_PORT", "between 1 and 65535")
	}
	if PluginMode(env{EnvSSRemoteHost: "a", EnvSSRemotePort: "1", EnvSSLocalHost: "b"}.get) {
		t.Error("PluginMode with three of the four variables: true, want false")
	}
	if !PluginMode(pluginEnv("a", "1", "b", "2", "")) {
		t.Error("PluginMode with all four variables: false, want true")
	}
}

func TestParsePluginOptions(t *testing.T) {
	bare := func(k string) PluginOption { return PluginOption{Key: k, Bare: true} }
	kv := func(k, v string) PluginOption { return PluginOption{Key: k, Value: v} }
	tests := []struct {
		in   string
		want []PluginOption
	}{
		{"", nil},
		{"nocomp", []PluginOption{bare("nocomp")}},
		{"mode=fast3;crypt=aes-128;nocomp", []PluginOption{kv("mode", "fast3"), kv("crypt", "aes-128"), bare("nocomp")}},
		{`key=a\;b\=c\\`, []PluginOption{kv("key", `a;b=c\`)}},
		{"key=abc==", []PluginOption{kv("key", "abc==")}},
		{"key=", []PluginOption{kv("key", "")}},
		{";;mode=fast; ;nocomp;", []PluginOption{kv("mode", "fast"), bare("nocomp")}},
		{" mode = fast ", []PluginOption{kv("mode", " fast ")}},
		{`we\=ird=1`, []PluginOption{kv("we=ird", "1")}},
	}
	for _, tt := range tests {
		got, err := ParsePluginOptions(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePluginOptions(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`key=abc\`, `log=C:\logs`, "=value", "a;=b"} {
		if got, err := ParsePluginOptions(bad); err == nil {
			t.Errorf("ParsePluginOptions(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestFormatPluginOptionsRoundTrips(t *testing.T) {
	opts := []PluginOption{{Key: "key", Value: `p;w=d\x`}, {Key: "nocomp", Bare: true}, {Key: "log", Value: ""}}
	s := FormatPluginOptions(opts)
	if want := `key=p\;w\=d\\x;nocomp;log=`; s != want {
		t.Errorf("FormatPluginOptions = %q, want %q", s, want)
	}
	if got, err := ParsePluginOptions(s); err != nil || !reflect.DeepEqual(got, opts) {
		t.Errorf("ParsePluginOptions(%q) = %+v, %v; want %+v", s, got, err, opts)
	}
}

// Every key of the -c file is a plugin option, whatever fields are added
// later, except the four addresses that shadowsocks sets.
func TestEveryJSONKeyIsAPluginOption(t *testing.T) {
	for _, cfg := range []any{&Client{}, &Server{}} {
		for _, key := range jsonKeys(reflect.TypeOf(cfg)) {
			o := PluginOption{Key: key, Value: "7"}
			f, _ := fieldByJSONKey(reflect.ValueOf(cfg).Elem(), key)
			switch {
			case f.Kind() == reflect.Bool:
				o = PluginOption{Key: key, Bare: true}
			case allowedValues(key) != nil:
				o.Value = allowedValues(key)[0]
			}
			err := applyPluginOption(cfg, o)
			if slices.Contains(pluginSetByEnv, key) {
				wantFragments(t, fmt.Sprintf("%T %s", cfg, key), err, "comes from SS_")
				continue
			}
			if err != nil {
				t.Errorf("%T: option %s: %v", cfg, FormatPluginOptions([]PluginOption{o}), err)
			} else if f.IsZero() {
				t.Errorf("%T: option %s left the field zero", cfg, FormatPluginOptions([]PluginOption{o}))
			}
		}
	}
}
