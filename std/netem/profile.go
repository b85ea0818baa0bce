package netem

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrUnknownProfile is wrapped by Profile's error for a name it does not know.
var ErrUnknownProfile = errors.New("netem: unknown link profile")

// profiles are the named links, the same in both directions. Every
// rate-limited profile uses DefaultQueue (100 ms of queue at its rate).
var profiles = []struct {
	name string
	spec Spec
}{
	{"clean", Spec{}},
	{"lossy", Spec{Rate: 50e6, Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.02, Queue: DefaultQueue}},
	{"bad", Spec{Rate: 20e6, Delay: 100 * time.Millisecond, Loss: 0.10, Queue: DefaultQueue}},
	// Bursty: Gilbert-Elliott with no loss in the good state and total loss
	// in the bad one; P/(P+R) = 0.005/0.155 ≈ 3.2 % average loss, in bursts
	// of 1/R ≈ 6.7 packets on average.
	{"bursty", Spec{Rate: 30e6, Delay: 60 * time.Millisecond, GE: GilbertElliott{P: 0.005, R: 0.15, LossGood: 0, LossBad: 1}, Queue: DefaultQueue}},
	{"satellite", Spec{Rate: 10e6, Delay: 300 * time.Millisecond, Loss: 0.01, Queue: DefaultQueue}},
	// Changing: the link worsens for 10 s in the middle of a run and then
	// recovers; counted from the first packet, so a bench run (start-up
	// and 2 s of idle probes first) sees all three phases in a 64 MB
	// download.
	{"changing", Spec{Rate: 50e6, Delay: 40 * time.Millisecond, Loss: 0.01, Queue: DefaultQueue, Phases: []Phase{
		{After: 10 * time.Second, Rate: 10e6, Loss: 0.10},
		{After: 20 * time.Second, Rate: 50e6, Loss: 0.01},
	}}},
}

// ProfileNames lists the named profiles, mildest first, then the
// time-varying one.
func ProfileNames() []string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.name
	}
	return names
}

// Profile returns the named link spec (see ProfileNames):
//
//	clean      no impairment
//	lossy      50 Mbit/s, 40 ms one way, 5 ms jitter, 2 % loss
//	bad        20 Mbit/s, 100 ms, 10 % loss
//	bursty     30 Mbit/s, 60 ms, Gilbert-Elliott bursts averaging ≈ 3 % loss
//	satellite  10 Mbit/s, 300 ms, 1 % loss
//	changing   40 ms one way; 50 Mbit/s and 1 % loss, from 10 s after the
//	           first packet 10 Mbit/s and 10 % loss, from 20 s on 50 Mbit/s
//	           and 1 % loss again (Spec.Phases)
//
// Rate-limited profiles queue at most DefaultQueue (100 ms) at their
// current rate.
func Profile(name string) (Spec, error) {
	for _, p := range profiles {
		if strings.EqualFold(p.name, name) {
			s := p.spec
			s.Phases = slices.Clone(s.Phases) // the caller's to change
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownProfile, name, strings.Join(ProfileNames(), ", "))
}
