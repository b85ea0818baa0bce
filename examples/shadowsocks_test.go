package examples

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kcptun-go/tunnel/std/config"
)

// ssConfig is what the shadowsocks-libev example files say about the plugin.
type ssConfig struct {
	Server       string `json:"server"`
	ServerPort   int    `json:"server_port"`
	LocalAddress string `json:"local_address"`
	Mode         string `json:"mode"`
	Plugin       string `json:"plugin"`
	PluginOpts   string `json:"plugin_opts"`
}

func readSS(t *testing.T, name string) ssConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("shadowsocks", name))
	if err != nil {
		t.Fatal(err)
	}
	var c ssConfig
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// pluginEnv is the SIP003 environment shadowsocks gives its plugin: the
// remote (the shadowsocks server's address) and the local address (where
// the shadowsocks process itself listens for the plugin), and the options.
func pluginEnv(remoteHost string, remotePort int, localPort int, opts string) func(string) string {
	env := map[string]string{
		config.EnvSSRemoteHost:    remoteHost,
		config.EnvSSRemotePort:    strconv.Itoa(remotePort),
		config.EnvSSLocalHost:     "127.0.0.1",
		config.EnvSSLocalPort:     strconv.Itoa(localPort),
		config.EnvSSPluginOptions: opts,
	}
	return func(k string) string { return env[k] }
}

// The shadowsocks example files start our binaries as SIP003 plugins: their
// plugin_opts go through the real loader (as SS_PLUGIN_OPTIONS) and give a
// client and a server that fit together, so the example never rots.
func TestShadowsocksExamplePluginOptionsLoad(t *testing.T) {
	local, server := readSS(t, "ss-local.json"), readSS(t, "ss-server.json")
	for _, c := range []struct {
		name string
		ss   ssConfig
		bin  string
	}{{"ss-local.json", local, "/usr/local/bin/kcptun-client"}, {"ss-server.json", server, "/usr/local/bin/kcptun-server"}} {
		if c.ss.Plugin != c.bin {
			t.Errorf("%s: plugin %q, want %q (the path the systemd units install to)", c.name, c.ss.Plugin, c.bin)
		}
		// Shadowsocks' own UDP relay would take the tunnel's UDP port.
		if c.ss.Mode != "tcp_only" {
			t.Errorf("%s: mode %q, want tcp_only", c.name, c.ss.Mode)
		}
	}
	if local.ServerPort != server.ServerPort {
		t.Errorf("ss-local.json dials port %d, ss-server.json listens on %d", local.ServerPort, server.ServerPort)
	}

	cli, warnings, err := config.LoadClient(nil, pluginEnv(local.Server, local.ServerPort, 41080, local.PluginOpts))
	if err != nil {
		t.Fatalf("client with SS_PLUGIN_OPTIONS=%q: %v", local.PluginOpts, err)
	}
	if len(warnings) > 0 {
		t.Errorf("client with SS_PLUGIN_OPTIONS=%q warns: %q", local.PluginOpts, warnings)
	}
	srv, warnings, err := config.LoadServer(nil, pluginEnv(server.Server, server.ServerPort, 41081, server.PluginOpts))
	if err != nil {
		t.Fatalf("server with SS_PLUGIN_OPTIONS=%q: %v", server.PluginOpts, err)
	}
	if len(warnings) > 0 {
		t.Errorf("server with SS_PLUGIN_OPTIONS=%q warns: %q", server.PluginOpts, warnings)
	}

	wantRemote := net.JoinHostPort(local.Server, strconv.Itoa(local.ServerPort))
	if cli.RemoteAddr != wantRemote || cli.LocalAddr != "127.0.0.1:41080" {
		t.Errorf("client: remoteaddr %q localaddr %q, want %q and 127.0.0.1:41080", cli.RemoteAddr, cli.LocalAddr, wantRemote)
	}
	if cli.Key == config.DefaultClient().Key || cli.Mode != "fast3" || cli.Crypt != "aes" {
		t.Errorf("client: the options were not applied: key %q crypt %q mode %q", cli.Key, cli.Crypt, cli.Mode)
	}
	if cli.Key != srv.Key || cli.Crypt != srv.Crypt || cli.NoComp != srv.NoComp || cli.SmuxVer != srv.SmuxVer ||
		cli.QPP != srv.QPP || cli.QPPCount != srv.QPPCount {
		t.Errorf("identical-parameter rule broken between the examples:\nclient %+v\nserver %+v", cli.Common, srv.Common)
	}
}
