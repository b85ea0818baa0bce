package netem

import (
	"errors"
	"fmt"
	"time"
)

const (
	// DefaultQueue bounds the drop-tail queue of a rate-limited link when
	// Spec.Queue is zero: 100 ms of queueing at the link's rate, a common
	// router buffer that is about one BDP for the 50 Mbit/s, 40 ms profile.
	DefaultQueue = 100 * time.Millisecond

	// DefaultReorderGap is how long a reordered packet is held back when
	// Spec.ReorderGap is zero.
	DefaultReorderGap = 2 * time.Millisecond
)

// Spec describes one direction of an emulated link. The zero Spec is a clean
// link: packets are delivered at once, in order, none lost.
type Spec struct {
	// Rate is the bottleneck rate in bits per second; 0 means unlimited.
	Rate int64
	// Queue bounds the drop-tail queue in front of the bottleneck, as time
	// spent waiting at Rate: a packet that would wait longer is dropped.
	// 0 means DefaultQueue. Ignored when Rate is 0.
	Queue time.Duration
	// Delay is the fixed one-way delay after the bottleneck.
	Delay time.Duration
	// Jitter adds a delay drawn uniformly from [0, Jitter) to each packet,
	// without reordering (see the package documentation).
	Jitter time.Duration
	// Loss is the probability in [0, 1] that a packet is lost (Bernoulli).
	Loss float64
	// GE adds Gilbert-Elliott burst loss; the zero value disables it.
	GE GilbertElliott
	// Reorder is the probability in [0, 1] that a packet is held back by
	// ReorderGap and overtaken by the packets sent after it.
	Reorder float64
	// ReorderGap is the extra delay of a reordered packet; 0 means
	// DefaultReorderGap.
	ReorderGap time.Duration
	// Duplicate is the probability in [0, 1] that a packet is delivered twice.
	Duplicate float64
	// Phases make the link time-varying: from Phases[i].After on, counted
	// from the first packet the link carries, Rate and Loss are those of
	// Phases[i] (until the next phase). Before the first phase Rate and
	// Loss above apply. Nil: the link never changes.
	Phases []Phase `json:",omitempty"`
}

// Phase is one stretch of a time-varying link (Spec.Phases). The queue
// limit, a time (Spec.Queue), follows the rate; packets already queued
// when the rate changes keep the departure times they were given.
type Phase struct {
	After time.Duration // since the link's first packet; increasing over the phases
	Rate  int64         // bits per second from then on; 0 means unlimited
	Loss  float64       // Bernoulli loss probability from then on
}

// GilbertElliott is the two-state burst-loss model. Before each packet the
// chain may change state (good to bad with probability P, bad to good with
// probability R); the packet is then lost with the loss probability of the
// current state. With LossGood 0 and LossBad 1 the average loss is
// P/(P+R) and losses come in bursts of 1/R packets on average.
type GilbertElliott struct {
	P        float64 // good → bad transition probability per packet
	R        float64 // bad → good transition probability per packet
	LossGood float64 // loss probability in the good state
	LossBad  float64 // loss probability in the bad state
}

// Enabled reports whether the model can lose packets.
func (g GilbertElliott) Enabled() bool {
	return g.LossGood > 0 || (g.P > 0 && g.LossBad > 0)
}

// MeanLoss is the long-run loss probability of the model.
func (g GilbertElliott) MeanLoss() float64 {
	if g.P == 0 {
		return g.LossGood
	}
	bad := g.P / (g.P + g.R)
	return (1-bad)*g.LossGood + bad*g.LossBad
}

// IsClean reports whether the spec leaves packets untouched.
func (s Spec) IsClean() bool {
	return s.Rate == 0 && s.Delay == 0 && s.Jitter == 0 && s.Loss == 0 &&
		!s.GE.Enabled() && s.Reorder == 0 && s.Duplicate == 0 && len(s.Phases) == 0
}

// At is the spec in effect d after the link's first packet: Rate and Loss
// from the last phase begun by then, and no Phases.
func (s Spec) At(d time.Duration) Spec {
	at := s
	at.Phases = nil
	for _, p := range s.Phases {
		if d < p.After {
			break
		}
		at.Rate, at.Loss = p.Rate, p.Loss
	}
	return at
}

// MeanLoss is the long-run probability that a packet is lost to random or
// burst loss (queue overflow not included), for Loss and GE: Phases are
// not taken into account (see At).
func (s Spec) MeanLoss() float64 {
	return 1 - (1-s.Loss)*(1-s.GE.MeanLoss())
}

// Validate reports every field outside its allowed range, joined.
func (s Spec) Validate() error {
	var errs []error
	bad := func(field, value, want string) {
		errs = append(errs, &SpecError{Field: field, Value: value, Want: want})
	}
	if s.Rate < 0 {
		bad("rate", fmt.Sprint(s.Rate), "a rate ≥ 0 bits/s")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"queue", s.Queue}, {"delay", s.Delay}, {"jitter", s.Jitter}, {"reorder gap", s.ReorderGap}} {
		if d.v < 0 {
			bad(d.field, d.v.String(), "a duration ≥ 0")
		}
	}
	for _, p := range []struct {
		field string
		v     float64
	}{
		{"loss", s.Loss}, {"reorder", s.Reorder}, {"dup", s.Duplicate},
		{"ge p", s.GE.P}, {"ge r", s.GE.R}, {"ge loss good", s.GE.LossGood}, {"ge loss bad", s.GE.LossBad},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			bad(p.field, fmt.Sprint(p.v), "a probability in [0, 1]")
		}
	}
	if s.GE.P > 0 && s.GE.R == 0 {
		bad("ge r", "0", "a bad→good probability > 0 when p > 0 (else the link stays bad forever)")
	}
	for i, p := range s.Phases {
		field := fmt.Sprintf("phase %d ", i+1)
		switch {
		case p.After < 0:
			bad(field+"after", p.After.String(), "a duration ≥ 0")
		case i > 0 && p.After <= s.Phases[i-1].After:
			bad(field+"after", p.After.String(), "a time later than phase "+fmt.Sprint(i)+"'s "+s.Phases[i-1].After.String())
		}
		if p.Rate < 0 {
			bad(field+"rate", fmt.Sprint(p.Rate), "a rate ≥ 0 bits/s")
		}
		if !(p.Loss >= 0 && p.Loss <= 1) {
			bad(field+"loss", fmt.Sprint(p.Loss), "a probability in [0, 1]")
		}
	}
	return errors.Join(errs...)
}

func (s Spec) queueOrDefault() time.Duration {
	if s.Queue == 0 {
		return DefaultQueue
	}
	return s.Queue
}

func (s Spec) reorderGapOrDefault() time.Duration {
	if s.ReorderGap == 0 {
		return DefaultReorderGap
	}
	return s.ReorderGap
}
