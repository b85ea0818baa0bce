package portrange

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Range
	}{
		{"vps:29900", Range{"vps", 29900, 29900}},
		{"1.2.3.4:4000-4010", Range{"1.2.3.4", 4000, 4010}},
		{":4000", Range{"", 4000, 4000}},
		{":4000-4000", Range{"", 4000, 4000}},
		{"[::1]:29900", Range{"::1", 29900, 29900}},
		{"[::1]:4000-4010", Range{"::1", 4000, 4010}},
		{"[fe80::1%eth0]:1", Range{"fe80::1%eth0", 1, 1}},
		{"example.com:1-65535", Range{"example.com", 1, 65535}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		in   string
		want []string // fragments of the message
	}{
		{"", []string{`""`, "HOST:PORT or HOST:MIN-MAX"}},
		{"vps", []string{`"vps"`, "HOST:PORT"}},
		{"vps:", []string{"missing port"}},
		{"vps:0", []string{"port 0", "1-65535"}},
		{"vps:65536", []string{"port 65536", "1-65535"}},
		{"vps:4010-4000", []string{"4010-4000", "MIN <= MAX"}},
		{"vps:4000-", []string{`port ""`, "1-65535"}},
		{"vps:-4000", []string{`port ""`}},
		{"vps:http", []string{`port "http"`}},
		{"vps:+80", []string{`port "+80"`}},
		{"vps:1-2-3", []string{`port "2-3"`}},
		{"vps:123456", []string{`port "123456"`}},
		{"::1:4000", []string{`"::1:4000"`, "brackets", "[::1]:4000"}},
		{"fe80::1:4000-4010", []string{"brackets", "[fe80::1]:4000-4010"}},
		{"::1", []string{"brackets", "[::1]:29900"}},
		{"[::1]", []string{"HOST:PORT"}},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", tt.in)
			continue
		}
		var perr *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &perr) || perr.Value != tt.in {
			t.Errorf("Parse(%q) error %#v: want an *Error for the value, wrapping ErrInvalid", tt.in, err)
		}
		for _, frag := range tt.want {
			if !strings.Contains(err.Error(), frag) {
				t.Errorf("Parse(%q) error %q lacks %q", tt.in, err, frag)
			}
		}
	}
}

func TestAddrsListsEveryPort(t *testing.T) {
	r, err := Parse("[::1]:4000-4002")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[::1]:4000", "[::1]:4001", "[::1]:4002"}
	if got := r.Addrs(); !slices.Equal(got, want) {
		t.Errorf("Addrs() = %q, want %q", got, want)
	}
	if r.Len() != 3 {
		t.Errorf("Len() = %d, want 3", r.Len())
	}
	single := Range{"vps", 29900, 29900}
	if got := single.Addrs(); !slices.Equal(got, []string{"vps:29900"}) {
		t.Errorf("single Addrs() = %q", got)
	}
}

func TestPickCoversTheRangeUniformly(t *testing.T) {
	r := Range{"h", 10, 13}
	var asked []int
	counts := map[string]int{}
	i := 0
	rnd := func(n int) int { asked = append(asked, n); i++; return i % n }
	for range 400 {
		counts[r.Pick(rnd)]++
	}
	for _, n := range asked {
		if n != 4 {
			t.Fatalf("Pick asked rnd for [0,%d), want [0,4)", n)
		}
	}
	for _, a := range r.Addrs() {
		if counts[a] != 100 {
			t.Errorf("port %s picked %d times of 400, want 100: %v", a, counts[a], counts)
		}
	}
}

func TestPickWrapsOutOfRangeAndDefaultsRandom(t *testing.T) {
	r := Range{"h", 10, 13}
	if got := r.Pick(func(int) int { return -1 }); got != "h:13" {
		t.Errorf("Pick(-1) = %q, want h:13", got)
	}
	if got := r.Pick(func(int) int { return 5 }); got != "h:11" {
		t.Errorf("Pick(5) = %q, want h:11", got)
	}
	for range 20 {
		if got := r.Pick(nil); !slices.Contains(r.Addrs(), got) {
			t.Fatalf("Pick(nil) = %q, not in the range", got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"vps:29900", ":4000-4010", "[::1]:1-65535", "::1:4000", "a:b:c", "[x]:0", "h:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.Min < MinPort || r.Max > MaxPort || r.Min > r.Max {
			t.Fatalf("Parse(%q) = %+v: ports out of bounds", s, r)
		}
		addrs := r.Addrs()
		if len(addrs) != r.Len() {
			t.Fatalf("Parse(%q): %d addrs, Len %d", s, len(addrs), r.Len())
		}
		for i, a := range []string{addrs[0], addrs[len(addrs)-1]} {
			port := []int{r.Min, r.Max}[i]
			back, err := Parse(a)
			if err != nil || back != (Range{r.Host, port, port}) {
				t.Fatalf("Parse(%q) = %+v; its addr %q parses as %+v, %v", s, r, a, back, err)
			}
		}
		if back, err := Parse(r.String()); err != nil || back != r {
			t.Fatalf("Parse(%q) = %+v; String %q parses as %+v, %v", s, r, r.String(), back, err)
		}
	})
}
