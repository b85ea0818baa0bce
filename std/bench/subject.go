package bench

import (
	"context"
	"time"

	"github.com/kcptun-go/tunnel/std/netem"
)

// subject is a system under test: a tunnel pair or a kernel TCP baseline.
type subject interface {
	name() string
	// start brings the subject up over link; the session's close ends it.
	start(ctx context.Context, link netem.Spec, seed uint64) (*session, error)
}

// session is a started subject.
type session struct {
	dial Dialer
	// usage is the CPU time the client and server processes used so far;
	// nil when the subject has no processes of its own (kernel TCP).
	usage func() (client, server time.Duration, err error)
	// peakRSS is the processes' peak resident set; nil as for usage.
	peakRSS func() (client, server int64, err error)
	// rss is the processes' current resident set; nil as for usage.
	rss       func() (client, server int64, err error)
	linkStats func() netem.Stats
	// headerBytes is added per packet to the link's byte counts to give IP
	// packet bytes: 28 for relayed UDP payloads, 0 for TUN (IP packets).
	headerBytes uint64
	// hostDrops counts packets the host dropped on their way into the
	// emulator (full socket buffers, a full TUN queue); false if unknown.
	hostDrops func() (uint64, bool)
	alive     func() error // an unexpected failure of the subject, or nil
	close     func()
}

// ipHdrUDP4 is the IPv4 and UDP header a relayed datagram would carry on
// a real wire.
const ipHdrUDP4 = 28

// pairSubject runs a pair of binaries against the bench's target.
type pairSubject struct {
	spec    PairSpec
	target  string
	env     []string
	timeout time.Duration
}

func (p *pairSubject) name() string { return p.spec.Name }

func (p *pairSubject) start(ctx context.Context, link netem.Spec, seed uint64) (*session, error) {
	pr, err := startPair(ctx, p.spec, p.target, link, seed, p.env, p.timeout)
	if err != nil {
		return nil, err
	}
	return &session{
		dial:        pr.dial,
		usage:       pr.usage,
		peakRSS:     pr.peakRSS,
		rss:         pr.rss,
		linkStats:   pr.relay.stats,
		hostDrops:   pr.relay.hostDrops,
		headerBytes: ipHdrUDP4,
		alive:       pr.alive,
		close:       pr.close,
	}, nil
}
