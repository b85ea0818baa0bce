package netem

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrSpec is wrapped by every error about a malformed or out-of-range spec.
var ErrSpec = errors.New("netem: bad link spec")

// SpecError names the spec field that is wrong and the form it accepts.
type SpecError struct {
	Field string // e.g. "loss"
	Value string // the text or value given
	Want  string // the accepted form, e.g. "a percentage like 2% or a fraction in [0, 1]"
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("netem: link spec field %q = %q: want %s", e.Field, e.Value, e.Want)
}

// Unwrap makes errors.Is(err, ErrSpec) true.
func (e *SpecError) Unwrap() error { return ErrSpec }

const (
	wantRate     = "a rate like 50mbit (units bit, kbit, mbit, gbit; 0 = unlimited)"
	wantDuration = "a duration like 40ms, 500us or 1.5s"
	wantProb     = "a percentage like 2% or a fraction in [0, 1]"
	wantGE       = "p/r or p/r/lossgood/lossbad, each a percentage or fraction (e.g. 0.5%/15%/0/100%), or off"
	wantReorder  = "a probability, optionally with the hold-back time: 1% or 1%/5ms"
	wantPhase    = "after/rate/loss, e.g. 10s/10mbit/10% (from 10 s after the first packet on, 10 Mbit/s and 10 % loss)"
	wantFields   = "rate, delay, jitter, loss, queue, ge, reorder, dup, phase"
)

// ParseSpec reads a comma-separated list of key=value fields, optionally
// starting with a profile name whose values the fields then override:
//
//	rate=50mbit,delay=40ms,jitter=5ms,loss=2%,queue=100ms,ge=0.01/0.3/0/0.5,reorder=1%,dup=0.5%
//	lossy,loss=5%
//	lossy,phase=10s/10mbit/10%,phase=20s/50mbit/2%
//
// rate takes bit, kbit, mbit or gbit (decimal units, as tc); durations take
// Go's syntax (40ms, 500us); probabilities are percentages (2%) or fractions
// (0.02). ge is p/r[/lossgood/lossbad] with lossgood 0 and lossbad 1 when
// omitted. reorder is prob[/gap]. phase is after/rate/loss and may repeat:
// each adds one of Spec.Phases. The empty string is the clean link.
// Errors wrap ErrSpec and are *SpecError values naming the field.
func ParseSpec(s string) (Spec, error) {
	var spec Spec
	fields := strings.Split(strings.TrimSpace(s), ",")
	if len(fields) == 1 && fields[0] == "" {
		return spec, nil
	}
	if first := strings.TrimSpace(fields[0]); first != "" && !strings.Contains(first, "=") {
		p, err := Profile(first)
		if err != nil {
			return Spec{}, &SpecError{Field: "profile", Value: first,
				Want: "a profile name (" + strings.Join(ProfileNames(), ", ") + ") or key=value fields"}
		}
		spec, fields = p, fields[1:]
	}
	for _, f := range fields {
		if strings.TrimSpace(f) == "" {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimSpace(f), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		if !ok {
			return Spec{}, &SpecError{Field: key, Value: "", Want: "key=value with key one of " + wantFields + " (a profile name may only come first)"}
		}
		if err := setField(&spec, key, value); err != nil {
			return Spec{}, err
		}
	}
	if err := spec.Validate(); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

func setField(spec *Spec, key, value string) error {
	var err error
	switch key {
	case "rate":
		spec.Rate, err = parseRate(value)
	case "delay":
		spec.Delay, err = parseDuration(value)
	case "jitter":
		spec.Jitter, err = parseDuration(value)
	case "queue":
		spec.Queue, err = parseDuration(value)
	case "loss":
		spec.Loss, err = parseProb(value)
	case "dup", "duplicate":
		spec.Duplicate, err = parseProb(value)
	case "reorder":
		spec.Reorder, spec.ReorderGap, err = parseReorder(value)
	case "ge":
		spec.GE, err = parseGE(value)
	case "phase":
		var ph Phase
		if ph, err = parsePhase(value); err == nil {
			spec.Phases = append(spec.Phases, ph)
		}
	default:
		return &SpecError{Field: key, Value: value, Want: "a known field: " + wantFields}
	}
	if err != nil {
		return &SpecError{Field: key, Value: value, Want: err.Error()}
	}
	return nil
}

// errWant carries the accepted form from a value parser to setField.
type errWant string

func (e errWant) Error() string { return string(e) }

var rateUnits = []struct {
	suffix string
	mult   float64
}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}

func parseRate(v string) (int64, error) {
	lv := strings.ToLower(v)
	mult := 1.0
	for _, u := range rateUnits {
		if strings.HasSuffix(lv, u.suffix) {
			lv, mult = strings.TrimSuffix(lv, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(lv, 64)
	if err != nil || !(n >= 0) || n*mult > math.MaxInt64/2 {
		return 0, errWant(wantRate)
	}
	return int64(math.Round(n * mult)), nil
}

func parseDuration(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errWant(wantDuration)
	}
	return d, nil
}

func parseProb(v string) (float64, error) {
	var p float64
	var err error
	if num, ok := strings.CutSuffix(v, "%"); ok {
		p, err = strconv.ParseFloat(strings.TrimSpace(num), 64)
		p /= 100
	} else {
		p, err = strconv.ParseFloat(v, 64)
	}
	if err != nil || !(p >= 0 && p <= 1) {
		return 0, errWant(wantProb)
	}
	return p, nil
}

func parseReorder(v string) (float64, time.Duration, error) {
	probText, gapText, hasGap := strings.Cut(v, "/")
	p, err := parseProb(probText)
	if err != nil {
		return 0, 0, errWant(wantReorder)
	}
	var gap time.Duration
	if hasGap {
		if gap, err = parseDuration(gapText); err != nil {
			return 0, 0, errWant(wantReorder)
		}
	}
	return p, gap, nil
}

func parseGE(v string) (GilbertElliott, error) {
	if v == "off" || v == "0" {
		return GilbertElliott{}, nil
	}
	parts := strings.Split(v, "/")
	if len(parts) != 2 && len(parts) != 4 {
		return GilbertElliott{}, errWant(wantGE)
	}
	vals := []float64{0, 0, 0, 1}
	for i, part := range parts {
		p, err := parseProb(part)
		if err != nil {
			return GilbertElliott{}, errWant(wantGE)
		}
		vals[i] = p
	}
	return GilbertElliott{P: vals[0], R: vals[1], LossGood: vals[2], LossBad: vals[3]}, nil
}

func parsePhase(v string) (Phase, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 3 {
		return Phase{}, errWant(wantPhase)
	}
	after, err1 := parseDuration(parts[0])
	rate, err2 := parseRate(parts[1])
	loss, err3 := parseProb(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return Phase{}, errWant(wantPhase)
	}
	return Phase{After: after, Rate: rate, Loss: loss}, nil
}

// String renders the spec in the form ParseSpec reads; the clean spec is
// "clean". Fields at their zero value are left out.
func (s Spec) String() string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	if s.Rate != 0 {
		add("rate", formatRate(s.Rate))
	}
	if s.Delay != 0 {
		add("delay", s.Delay.String())
	}
	if s.Jitter != 0 {
		add("jitter", s.Jitter.String())
	}
	if s.Loss != 0 {
		add("loss", formatProb(s.Loss))
	}
	if s.Queue != 0 {
		add("queue", s.Queue.String())
	}
	if s.GE != (GilbertElliott{}) {
		add("ge", formatProb(s.GE.P)+"/"+formatProb(s.GE.R)+"/"+formatProb(s.GE.LossGood)+"/"+formatProb(s.GE.LossBad))
	}
	if s.Reorder != 0 || s.ReorderGap != 0 {
		v := formatProb(s.Reorder)
		if s.ReorderGap != 0 {
			v += "/" + s.ReorderGap.String()
		}
		add("reorder", v)
	}
	if s.Duplicate != 0 {
		add("dup", formatProb(s.Duplicate))
	}
	for _, p := range s.Phases {
		add("phase", p.After.String()+"/"+formatRate(p.Rate)+"/"+formatProb(p.Loss))
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ",")
}

func formatRate(r int64) string {
	if r == 0 {
		return "0"
	}
	for _, u := range rateUnits {
		m := int64(u.mult)
		if r%m == 0 {
			return strconv.FormatInt(r/m, 10) + u.suffix
		}
	}
	return strconv.FormatInt(r, 10) + "bit"
}

func formatProb(p float64) string {
	if p == 0 {
		return "0"
	}
	pct := math.Round(p*100*1e9) / 1e9
	return strconv.FormatFloat(pct, 'f', -1, 64) + "%"
}
