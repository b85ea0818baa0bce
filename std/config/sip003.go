package config

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kcptun-go/tunnel/std/crypt"
)

// The SIP003 environment that a shadowsocks client or server gives its
// plugin.
const (
	EnvSSRemoteHost    = "SS_REMOTE_HOST"
	EnvSSRemotePort    = "SS_REMOTE_PORT"
	EnvSSLocalHost     = "SS_LOCAL_HOST"
	EnvSSLocalPort     = "SS_LOCAL_PORT"
	EnvSSPluginOptions = "SS_PLUGIN_OPTIONS"
)

// ErrPlugin is wrapped by every error about the SIP003 environment: a
// partial set of SS_* addresses, a bad port, or SS_PLUGIN_OPTIONS that do
// not parse or name an unknown key or a bad value.
var ErrPlugin = errors.New("SIP003 plugin")

// ssAddressVars are the variables that, all set, put a role in plugin mode.
var ssAddressVars = []string{EnvSSRemoteHost, EnvSSRemotePort, EnvSSLocalHost, EnvSSLocalPort}

// PluginMode reports whether getenv has all four SS_* address variables,
// i.e. whether the process runs as a shadowsocks (SIP003) plugin.
func PluginMode(getenv func(string) string) bool {
	for _, k := range ssAddressVars {
		if getenv(k) == "" {
			return false
		}
	}
	return true
}

// pluginAddrs are the two addresses of the SIP003 environment.
type pluginAddrs struct {
	remote string // the shadowsocks server side: client dials, server listens
	local  string // the shadowsocks process: client listens, server targets
}

// applyPlugin is the SIP003 load step. In plugin mode it applies
// SS_PLUGIN_OPTIONS to cfg (a *Client or *Server) and then the SS_*
// addresses; outside it, it only rejects a partial SS_* environment.
func applyPlugin(cfg any, getenv func(string) string) error {
	addrs, ok, err := readPluginAddrs(getenv)
	if err != nil || !ok {
		return err
	}
	opts, err := ParsePluginOptions(getenv(EnvSSPluginOptions))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrPlugin, EnvSSPluginOptions, err)
	}
	for _, o := range opts {
		if err := applyPluginOption(cfg, o); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrPlugin, EnvSSPluginOptions, err)
		}
	}
	switch c := cfg.(type) {
	case *Client:
		c.RemoteAddr, c.LocalAddr = addrs.remote, addrs.local
	case *Server:
		c.Listen, c.Target = addrs.remote, addrs.local
	default:
		panic(fmt.Sprintf("config: applyPlugin on %T", cfg))
	}
	return nil
}

// readPluginAddrs reads the SS_* addresses. ok is false when none of the
// SIP003 variables is set; some but not all of them is an error.
func readPluginAddrs(getenv func(string) string) (a pluginAddrs, ok bool, err error) {
	var set, missing []string
	for _, k := range append(ssAddressVars, EnvSSPluginOptions) {
		if getenv(k) != "" {
			set = append(set, k)
		} else if k != EnvSSPluginOptions {
			missing = append(missing, k)
		}
	}
	switch {
	case len(set) == 0:
		return a, false, nil
	case len(missing) > 0:
		return a, false, fmt.Errorf("%w: %s set but %s missing: a shadowsocks plugin gets all four of %s",
			ErrPlugin, strings.Join(set, ", "), strings.Join(missing, ", "), strings.Join(ssAddressVars, ", "))
	}
	if a.remote, err = pluginAddr(getenv, EnvSSRemoteHost, EnvSSRemotePort); err != nil {
		return a, false, err
	}
	if a.local, err = pluginAddr(getenv, EnvSSLocalHost, EnvSSLocalPort); err != nil {
		return a, false, err
	}
	return a, true, nil
}

// pluginAddr joins a host and a port variable into host:port, bracketing
// an IPv6 host ("[::1]:8388"); a host that is already bracketed is too.
func pluginAddr(getenv func(string) string, hostVar, portVar string) (string, error) {
	host, port := getenv(hostVar), getenv(portVar)
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%w: %s=%q: want a port number between 1 and 65535", ErrPlugin, portVar, port)
	}
	if h, ok := strings.CutPrefix(host, "["); ok {
		host, _ = strings.CutSuffix(h, "]")
	}
	return net.JoinHostPort(host, port), nil
}

// pluginSetByEnv are the JSON keys that the SS_* addresses set.
var pluginSetByEnv = []string{"localaddr", "remoteaddr", "listen", "target"}

// applyPluginOption sets the field whose JSON key is o.Key, parsing
// o.Value by the field's type.
func applyPluginOption(cfg any, o PluginOption) error {
	if slices.Contains(pluginSetByEnv, o.Key) {
		return fmt.Errorf("key %q: the address comes from %s", o.Key, strings.Join(ssAddressVars, ", "))
	}
	f, ok := fieldByJSONKey(reflect.ValueOf(cfg).Elem(), o.Key)
	if !ok {
		var valid []string
		for _, k := range jsonKeys(reflect.TypeOf(cfg)) {
			if !slices.Contains(pluginSetByEnv, k) {
				valid = append(valid, k)
			}
		}
		return fmt.Errorf("unknown key %q; valid keys: %s", o.Key, strings.Join(valid, ", "))
	}
	switch f.Kind() {
	case reflect.Bool:
		v := true
		if !o.Bare {
			b, err := strconv.ParseBool(o.Value)
			if err != nil {
				return fmt.Errorf("key %q wants true or false (or no value for true), got %q", o.Key, o.Value)
			}
			v = b
		}
		f.SetBool(v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(o.Value, 10, f.Type().Bits())
		if o.Bare || err != nil {
			return fmt.Errorf("key %q wants an integer, e.g. %s=%d, got %s", o.Key, o.Key, f.Int(), describeValue(o))
		}
		f.SetInt(n)
	case reflect.String:
		if o.Bare {
			return fmt.Errorf("key %q wants a value, e.g. %s=VALUE", o.Key, o.Key)
		}
		if allowed := allowedValues(o.Key); allowed != nil && !slices.Contains(allowed, o.Value) {
			return fmt.Errorf("key %q: %q is not one of %s", o.Key, o.Value, strings.Join(allowed, ", "))
		}
		f.SetString(o.Value)
	default:
		return fmt.Errorf("key %q (%s) cannot be given as a plugin option; use -c", o.Key, f.Type())
	}
	return nil
}

// describeValue quotes an option's value for an error, or says it has none.
func describeValue(o PluginOption) string {
	if o.Bare {
		return "no value"
	}
	return strconv.Quote(o.Value)
}

// allowedValues lists the values a string key accepts; nil: any string.
func allowedValues(key string) []string {
	switch key {
	case "mode":
		return ModeNames()
	case "crypt":
		return crypt.Names()
	}
	return nil
}

// fieldByJSONKey finds the field of struct v whose JSON key is key, looking
// into embedded structs the way encoding/json (and jsonKeys) do.
func fieldByJSONKey(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && tag == "":
			if fv, ok := fieldByJSONKey(v.Field(i), key); ok {
				return fv, true
			}
		case tag == key && tag != "-", tag == "" && f.IsExported() && f.Name == key:
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
