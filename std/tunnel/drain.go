package tunnel

import (
	"context"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

// When the last stream of a Shutdown has ended, its final bytes may still
// sit unacknowledged in KCP's send buffer, and closing the session then
// loses them (kcp-go's Close flushes once and never retransmits).
// kcp-go v5.6.72 does not tell how much is unacknowledged, but it
// retransmits until everything is, and the peer ACKs what arrives: so
// once no segment has gone out or come in for a few retransmission
// timeouts, what was sent has arrived (or the peer is gone).
const (
	settleFloor = 300 * time.Millisecond // the shortest quiet that counts
	settleRTOs  = 4                      // the quiet, in retransmission timeouts
	settlePoll  = 20 * time.Millisecond
)

// waitDelivered waits until KCP has been quiet for the settle time (see
// above) or ctx ends. It reads kcp-go's process-wide segment counters:
// in the tunnel's process they are the sessions of this role.
func (l *layers) waitDelivered(ctx context.Context) {
	segs := func() uint64 {
		return atomic.LoadUint64(&kcp.DefaultSnmp.InSegs) + atomic.LoadUint64(&kcp.DefaultSnmp.OutSegs)
	}
	last, quietSince := segs(), time.Now()
	tick := time.NewTicker(settlePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if cur := segs(); cur != last {
				last, quietSince = cur, now
				continue
			}
			if now.Sub(quietSince) >= l.settleTime() {
				return
			}
		}
	}
}

// settleTime is settleRTOs of the largest retransmission timeout of the
// open sessions, at least settleFloor.
func (l *layers) settleTime() time.Duration {
	d := settleFloor
	for _, info := range l.sessions.snapshot(time.Now()) {
		d = max(d, settleRTOs*info.RTO)
	}
	return d
}
