package config

import (
	"errors"
	"fmt"
	"strings"
)

// PluginOption is one entry of SS_PLUGIN_OPTIONS. Bare is set for a key
// written without "=value" (Value is then empty); it means true.
type PluginOption struct {
	Key   string
	Value string
	Bare  bool
}

// errOptionSyntax is wrapped by ParsePluginOptions' errors.
var errOptionSyntax = errors.New("malformed plugin options")

// ParsePluginOptions parses SIP003 plugin options: "key=value;key=value",
// where a backslash escapes ';', '=' and '\' and a key may stand alone.
// The first unescaped '=' ends the key (later ones belong to the value),
// spaces around keys are dropped, and empty entries (";;", a trailing
// ';') are skipped. Any other backslash sequence is an error.
func ParsePluginOptions(s string) ([]PluginOption, error) {
	var (
		opts []PluginOption
		cur  strings.Builder
		opt  PluginOption
		seen bool // '=' seen in the current entry
	)
	finish := func(end int) error {
		if seen {
			opt.Value = cur.String()
		} else {
			opt.Key, opt.Bare = cur.String(), true
		}
		opt.Key = strings.TrimSpace(opt.Key)
		switch {
		case opt.Key == "" && seen:
			return fmt.Errorf("%w: empty key before '=' in the entry ending at byte %d", errOptionSyntax, end)
		case opt.Key != "":
			opts = append(opts, opt)
		}
		opt, seen = PluginOption{}, false
		cur.Reset()
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf(`%w: lone '\' at the end; write \\ for a backslash`, errOptionSyntax)
			}
			i++
			if !strings.ContainsRune(`;=\`, rune(s[i])) {
				return nil, fmt.Errorf(`%w: "\%c" at byte %d is not an escape: only \; \= and \\ are (write \\ for a backslash)`, errOptionSyntax, s[i], i-1)
			}
			cur.WriteByte(s[i])
		case c == ';':
			if err := finish(i); err != nil {
				return nil, err
			}
		case c == '=' && !seen:
			opt.Key, seen = cur.String(), true
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if err := finish(len(s)); err != nil {
		return nil, err
	}
	return opts, nil
}

// FormatPluginOptions is the inverse of ParsePluginOptions: it joins opts
// with ';', escaping ';', '=' and '\' in keys and values.
func FormatPluginOptions(opts []PluginOption) string {
	var b strings.Builder
	for i, o := range opts {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(escapePluginOption(o.Key))
		if !o.Bare {
			b.WriteByte('=')
			b.WriteString(escapePluginOption(o.Value))
		}
	}
	return b.String()
}

var pluginOptionEscaper = strings.NewReplacer(`\`, `\\`, `;`, `\;`, `=`, `\=`)

func escapePluginOption(s string) string { return pluginOptionEscaper.Replace(s) }
