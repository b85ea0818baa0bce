package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestJSONKeysQPPAndQPPCount(t *testing.T) {
	file := writeFile(t, "s.json", `{"qpp": true, "qpp-count": 7, "datashard": 0, "listen": ":4000-4001", "target": "/run/t.sock"}`)
	s := mustLoadServer(t, nil, "-c", file)
	if !s.QPP || s.QPPCount != 7 || s.DataShard != 0 || s.Listen != ":4000-4001" || s.Target != "/run/t.sock" {
		t.Errorf("server from JSON: %+v", *s)
	}
}

func TestJSONEveryKeyIsAField(t *testing.T) {
	// Every JSON key of the role decodes without an unknown-key error and
	// round-trips through encoding/json.
	want := DefaultClient()
	want.QPP, want.Quiet, want.MTU = true, true, 1234
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got := Client{}
	if err := decodeJSON("c.json", data, &got); err != nil {
		t.Fatalf("decoding marshalled Client: %v\n%s", err, data)
	}
	if got != want {
		t.Errorf("round trip: %+v, want %+v", got, want)
	}
	for _, key := range []string{"localaddr", "remoteaddr", "conn", "autoexpire", "scavengettl", "qpp-count", "key"} {
		if !strings.Contains(string(data), `"`+key+`"`) {
			t.Errorf("client JSON lacks key %q: %s", key, data)
		}
	}
}

func TestJSONFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
		server        bool
		frags         []string
	}{
		{"unknown.json", "{\n  \"mtu\": 1350,\n  \"bogus\": 1\n}", false, []string{"unknown.json:3:3", `unknown key "bogus"`, "valid keys:", "remoteaddr"}},
		{"clientkey.json", `{"conn": 2}`, true, []string{`unknown key "conn"`, "target"}},
		{"malformed.json", "{\n  \"mtu\": 1350,\n  \"crypt\": aes\n}", false, []string{"malformed.json:3:12", "invalid character 'a'"}},
		{"comma.json", "{\"mtu\": 1350,}", true, []string{"comma.json:1:14"}},
		{"type.json", "{\"mtu\": \"big\"}", false, []string{"type.json:1:", `key "mtu" wants an integer, got string`}},
		{"bool.json", "{\"nocomp\": 1}", true, []string{`key "nocomp" wants true or false, got number`}},
		{"array.json", "[1, 2]", false, []string{"array.json:1:", "want a JSON object, got array"}},
		{"trailing.json", "{}\n{}", false, []string{"trailing.json:2:1", "unexpected data after the JSON object"}},
		{"truncated.json", "{\"mtu\": 1", true, []string{"truncated.json:1:9", "unexpected end of file"}},
		{"empty.json", " \n", false, []string{"empty.json", "empty file"}},
	}
	for _, tt := range tests {
		path := writeFile(t, tt.name, tt.content)
		var err error
		if tt.server {
			_, _, err = LoadServer([]string{"-c", path}, nil)
		} else {
			_, _, err = LoadClient([]string{"-c", path}, nil)
		}
		if !errors.Is(err, ErrConfigFile) {
			t.Errorf("%s: error %v, want ErrConfigFile", tt.name, err)
		}
		wantFragments(t, tt.name, err, append(tt.frags, path)...)
	}
}

func TestJSONFileUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	_, _, err := LoadClient([]string{"-c", missing}, nil)
	if !errors.Is(err, ErrConfigFile) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want ErrConfigFile and fs.ErrNotExist", err)
	}
	wantFragments(t, "missing file", err, missing)

	dir := t.TempDir()
	_, _, err = LoadServer([]string{"-c", dir}, nil)
	wantFragments(t, "directory as file", err, dir)
}

func FuzzLoadJSON(f *testing.F) {
	for _, s := range []string{
		`{"mtu": 1350, "qpp": true, "qpp-count": 7}`,
		`{"remoteaddr": "[::1]:4000-4010", "conn": 3, "mode": "manual", "interval": 5}`,
		`{"listen": ":0", "target": ""}`,
		"{\n\"bogus\": 1}", `[]`, `null`, `{"mtu": 1e400}`, `{"Key": "\u00ff"}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := DefaultClient()
		if err := decodeJSON("f.json", data, &c); err != nil {
			if !errors.Is(err, ErrConfigFile) || !strings.Contains(err.Error(), "f.json") {
				t.Fatalf("error %q does not name the file or wrap ErrConfigFile", err)
			}
		} else {
			c.ApplyModePreset()
			if err := c.Validate(); err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error %v does not wrap ErrInvalid", err)
			}
			_ = c.Warnings()
		}
		s := DefaultServer()
		if err := decodeJSON("f.json", data, &s); err == nil {
			s.ApplyModePreset()
			_ = s.Validate()
		}
	})
}
