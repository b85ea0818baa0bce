package config

import (
	"reflect"
	"testing"
)

func FuzzParsePluginOptions(f *testing.F) {
	for _, s := range []string{
		"", "nocomp", "mode=fast3;crypt=aes-128;nocomp", `key=a\;b\=c\\`, "key=abc==",
		";;a=b;;", " k = v ", `\`, `a\b`, "=x", "a=b=c;d", "ключ=значение;\xff=\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts, err := ParsePluginOptions(s)
		if err != nil {
			return
		}
		for _, o := range opts {
			if o.Key == "" {
				t.Fatalf("ParsePluginOptions(%q) gave an empty key: %+v", s, opts)
			}
			if o.Bare && o.Value != "" {
				t.Fatalf("ParsePluginOptions(%q) gave a bare key with a value: %+v", s, opts)
			}
		}
		enc := FormatPluginOptions(opts)
		again, err := ParsePluginOptions(enc)
		if err != nil {
			t.Fatalf("ParsePluginOptions(%q) = %+v, re-encoded as %q which fails: %v", s, opts, enc, err)
		}
		if !reflect.DeepEqual(again, opts) {
			t.Fatalf("ParsePluginOptions(%q) = %+v, re-encoded as %q, re-parsed as %+v", s, opts, enc, again)
		}
	})
}
