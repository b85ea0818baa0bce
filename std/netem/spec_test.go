package netem

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSpecAcceptsEveryField(t *testing.T) {
	got, err := ParseSpec("rate=50mbit,delay=40ms,jitter=5ms,loss=2%,queue=100ms,ge=0.01/0.3/0/0.5,reorder=1%,dup=0.5%")
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Rate: 50e6, Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.02,
		Queue: 100 * time.Millisecond, GE: GilbertElliott{P: 0.01, R: 0.3, LossGood: 0, LossBad: 0.5},
		Reorder: 0.01, Duplicate: 0.005,
	}
	if !specsClose(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestParseSpecForms(t *testing.T) {
	lossy, _ := Profile("lossy")
	tests := []struct {
		in   string
		want Spec
	}{
		{"", Spec{}},
		{"clean", Spec{}},
		{"rate=1500kbit", Spec{Rate: 1_500_000}},
		{"rate=2.5gbit", Spec{Rate: 2_500_000_000}},
		{"rate=800", Spec{Rate: 800}},
		{"rate=1MBit", Spec{Rate: 1e6}},
		{"rate=0", Spec{}},
		{"loss=0.1", Spec{Loss: 0.1}},
		{"loss=100%", Spec{Loss: 1}},
		{"delay=0,jitter=500us", Spec{Jitter: 500 * time.Microsecond}},
		{"ge=1%/20%", Spec{GE: GilbertElliott{P: 0.01, R: 0.2, LossBad: 1}}},
		{"ge=off", Spec{}},
		{"reorder=5%/10ms", Spec{Reorder: 0.05, ReorderGap: 10 * time.Millisecond}},
		{"duplicate=1%", Spec{Duplicate: 0.01}},
		{" loss = 3% , delay = 1s ,", Spec{Loss: 0.03, Delay: time.Second}},
		{"lossy", lossy},
		{"lossy,loss=5%", func() Spec { s := lossy; s.Loss = 0.05; return s }()},
		{"Satellite,rate=0", func() Spec { s, _ := Profile("satellite"); s.Rate = 0; return s }()},
		{"rate=50mbit,phase=10s/10mbit/10%,phase=20.5s/0/0", Spec{Rate: 50e6, Phases: []Phase{
			{After: 10 * time.Second, Rate: 10e6, Loss: 0.1}, {After: 20500 * time.Millisecond}}}},
		{"changing,phase=30s/1mbit/50%", func() Spec {
			s, _ := Profile("changing")
			s.Phases = append(s.Phases, Phase{After: 30 * time.Second, Rate: 1e6, Loss: 0.5})
			return s
		}()},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		if !specsClose(got, tt.want) {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseSpecErrorsNameTheField(t *testing.T) {
	tests := []struct {
		in, field, mention string
	}{
		{"loss=abc", "loss", "percentage"},
		{"loss=2", "loss", "fraction in [0, 1]"},
		{"loss=-1%", "loss", "percentage"},
		{"dup=150%", "dup", "percentage"},
		{"rate=fast", "rate", "50mbit"},
		{"rate=-5mbit", "rate", "50mbit"},
		{"rate=nanmbit", "rate", "50mbit"},
		{"delay=40", "delay", "40ms"},
		{"jitter=-1ms", "jitter", "duration"},
		{"queue=lots", "queue", "duration"},
		{"ge=0.1", "ge", "p/r"},
		{"ge=0.1/0.2/0.3", "ge", "p/r"},
		{"ge=0.1/x", "ge", "p/r"},
		{"ge=1%/0", "ge r", "> 0"},
		{"reorder=1%/soon", "reorder", "1%/5ms"},
		{"colour=blue", "colour", "rate, delay"},
		{"delay=1ms,40ms", "40ms", "key=value"},
		{"wifi", "profile", "lossy"},
		{"delay=1ms,lossy", "lossy", "profile name may only come first"},
		{"phase=10s/10mbit", "phase", "after/rate/loss"},
		{"phase=10s/fast/1%", "phase", "after/rate/loss"},
		{"phase=soon/1mbit/1%", "phase", "after/rate/loss"},
		{"phase=10s/1mbit/1%,phase=5s/2mbit/1%", "phase 2 after", "later than phase 1's 10s"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.in)
		if err == nil {
			t.Errorf("ParseSpec(%q) succeeded, want an error about %q", tt.in, tt.field)
			continue
		}
		if !errors.Is(err, ErrSpec) {
			t.Errorf("ParseSpec(%q) error %v does not match ErrSpec", tt.in, err)
		}
		var se *SpecError
		if !errors.As(err, &se) || se.Field != tt.field {
			t.Errorf("ParseSpec(%q) error %v: want field %q", tt.in, err, tt.field)
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParseSpec(%q) error %q does not mention %q", tt.in, err, tt.mention)
		}
	}
}

func TestSpecStringRoundTrips(t *testing.T) {
	specs := []Spec{
		{},
		{Rate: 1_234_567, Delay: 1500 * time.Microsecond, Loss: 0.005},
		{Rate: 50e6, Queue: 30 * time.Millisecond, Jitter: time.Millisecond, GE: GilbertElliott{P: 0.003, R: 0.25, LossGood: 0.001, LossBad: 0.9}},
		{Reorder: 0.07, ReorderGap: 3 * time.Millisecond, Duplicate: 0.33},
		{Reorder: 0.07},
		{Rate: 3e6, Loss: 0.01, Phases: []Phase{{After: 1500 * time.Millisecond, Loss: 0.125}, {After: time.Minute, Rate: 1_234_567}}},
	}
	for _, name := range ProfileNames() {
		p, err := Profile(name)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, p)
	}
	for _, s := range specs {
		back, err := ParseSpec(s.String())
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", s.String(), err)
			continue
		}
		if !specsClose(back, s) {
			t.Errorf("%q parsed back as %+v, want %+v", s.String(), back, s)
		}
	}
}

func TestProfilesMatchTheirDescriptions(t *testing.T) {
	if got := strings.Join(ProfileNames(), " "); got != "clean lossy bad bursty satellite changing" {
		t.Fatalf("ProfileNames() = %q", got)
	}
	tests := []struct {
		name  string
		rate  int64
		delay time.Duration
		loss  float64 // mean loss
	}{
		{"clean", 0, 0, 0},
		{"lossy", 50e6, 40 * time.Millisecond, 0.02},
		{"bad", 20e6, 100 * time.Millisecond, 0.10},
		{"bursty", 30e6, 60 * time.Millisecond, 0.03},
		{"satellite", 10e6, 300 * time.Millisecond, 0.01},
		{"changing", 50e6, 40 * time.Millisecond, 0.01}, // until its first phase
	}
	for _, tt := range tests {
		s, err := Profile(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if s.Rate != tt.rate || s.Delay != tt.delay || math.Abs(s.MeanLoss()-tt.loss) > 0.003 {
			t.Errorf("%s = %v (mean loss %.4f), want rate %d delay %v loss %.3f", tt.name, s, s.MeanLoss(), tt.rate, tt.delay, tt.loss)
		}
		if tt.rate > 0 && s.queueOrDefault() != DefaultQueue {
			t.Errorf("%s queue = %v, want %v", tt.name, s.queueOrDefault(), DefaultQueue)
		}
	}
	if lossy, _ := Profile("lossy"); lossy.Jitter != 5*time.Millisecond {
		t.Errorf("lossy jitter = %v, want 5ms", lossy.Jitter)
	}
	if b, _ := Profile("bursty"); !b.GE.Enabled() || b.Loss != 0 {
		t.Errorf("bursty should lose packets by Gilbert-Elliott only: %v", b)
	}
	c, _ := Profile("changing")
	for _, tt := range []struct {
		at   time.Duration
		rate int64
		loss float64
	}{
		{0, 50e6, 0.01}, {10*time.Second - 1, 50e6, 0.01},
		{10 * time.Second, 10e6, 0.10}, {20*time.Second - 1, 10e6, 0.10},
		{20 * time.Second, 50e6, 0.01}, {time.Hour, 50e6, 0.01},
	} {
		if s := c.At(tt.at); s.Rate != tt.rate || s.Loss != tt.loss || s.Delay != 40*time.Millisecond || s.Phases != nil {
			t.Errorf("changing at %v = %v, want rate %d loss %.2f delay 40ms", tt.at, s, tt.rate, tt.loss)
		}
	}
	c.Phases[0].Rate = 1
	if again, _ := Profile("changing"); again.Phases[0].Rate != 10e6 {
		t.Error("changing a returned profile's phases changed the profile")
	}
	if _, err := Profile("nope"); !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), "satellite") {
		t.Errorf("Profile(nope) = %v, want ErrUnknownProfile listing the names", err)
	}
}

func TestValidateRejectsOutOfRange(t *testing.T) {
	bad := []Spec{
		{Rate: -1},
		{Delay: -time.Millisecond},
		{Loss: 1.5},
		{Duplicate: -0.1},
		{GE: GilbertElliott{P: 0.1}},
		{Reorder: math.NaN()},
	}
	for _, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrSpec) {
			t.Errorf("Validate(%+v) = %v, want ErrSpec", s, err)
		}
	}
	badPhases := []struct {
		phases []Phase
		fields []string
	}{
		{[]Phase{{After: -time.Second}}, []string{"phase 1 after"}},
		{[]Phase{{After: 2 * time.Second}, {After: 2 * time.Second}}, []string{"phase 2 after"}},
		{[]Phase{{After: 2 * time.Second}, {After: time.Second}}, []string{"phase 2 after"}},
		{[]Phase{{After: time.Second, Rate: -1, Loss: 1.1}}, []string{"phase 1 rate", "phase 1 loss"}},
		{[]Phase{{After: time.Second}, {After: 2 * time.Second, Loss: math.NaN()}}, []string{"phase 2 loss"}},
	}
	for _, tt := range badPhases {
		err := Spec{Phases: tt.phases}.Validate()
		var fields []string
		for _, e := range joined(err) {
			var se *SpecError
			if errors.As(e, &se) {
				fields = append(fields, se.Field)
			}
		}
		if !errors.Is(err, ErrSpec) || strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
			t.Errorf("Validate(phases %+v) = %v: want errors about %q", tt.phases, err, tt.fields)
		}
	}
	if err := (Spec{Phases: []Phase{{After: 0, Rate: 1e6}, {After: time.Second, Loss: 1}}}).Validate(); err != nil {
		t.Errorf("valid phases: %v", err)
	}
	if _, _, err := NewPair(Spec{Loss: 2}, Spec{}); !errors.Is(err, ErrSpec) {
		t.Errorf("NewPair with loss 2 = %v, want ErrSpec", err)
	}
}

// joined unpacks an errors.Join.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// specsClose compares specs allowing float rounding in the probabilities.
func specsClose(a, b Spec) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	if len(a.Phases) != len(b.Phases) {
		return false
	}
	for i, p := range a.Phases {
		if q := b.Phases[i]; p.After != q.After || p.Rate != q.Rate || !near(p.Loss, q.Loss) {
			return false
		}
	}
	return a.Rate == b.Rate && a.Delay == b.Delay && a.Jitter == b.Jitter && a.Queue == b.Queue &&
		a.ReorderGap == b.ReorderGap && near(a.Loss, b.Loss) && near(a.Reorder, b.Reorder) &&
		near(a.Duplicate, b.Duplicate) && near(a.GE.P, b.GE.P) && near(a.GE.R, b.GE.R) &&
		near(a.GE.LossGood, b.GE.LossGood) && near(a.GE.LossBad, b.GE.LossBad)
}
