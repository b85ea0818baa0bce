package transport

// inLoss estimates the share of a peer's FEC data shards that do not
// reach us, from the gaps in their sequence numbers (kcp-go numbers a
// group's data shards, then its parity shards, one after another; only
// the data shards are counted, as a sender under --mode auto may leave
// parity shards out). It is the loss of the path from the peer, and
// stands in for the path's loss the other way, which only the peer sees.
type inLoss struct {
	started bool
	next    uint64  // the data shard index expected next
	seen    uint64  // bit i: shard next − 1 − i arrived
	rate    float64 // moving average of 1 (missed) and 0 (arrived) per shard
}

const (
	// inLossGain is the moving average's weight per shard: it follows a
	// change of the loss within a few hundred packets.
	inLossGain = 1.0 / 256
	// inLossMaxGap is the largest gap taken as losses; a larger jump
	// (a peer's new session, or a reordering past it) starts afresh. A
	// late shard is told from a copy within it (inLoss.seen's 64 bits).
	inLossMaxGap = 63
)

// arrived notes the data shard numbered idx among the peer's data shards
// (SealConn.dataIndex).
func (l *inLoss) arrived(idx uint64) {
	switch gap := int64(idx - l.next); {
	case !l.started || gap > inLossMaxGap || gap < -inLossMaxGap:
		l.started, l.next, l.seen = true, idx+1, 1
	case gap < 0: // late, counted as missed; or a copy (a thin session's, or ACKs')
		if bit := uint64(1) << (-gap - 1); l.seen&bit == 0 {
			l.seen |= bit
			l.rate = max(l.rate-inLossGain, 0)
		}
	default:
		for range gap {
			l.rate += (1 - l.rate) * inLossGain
		}
		l.rate -= l.rate * inLossGain
		l.next = idx + 1
		if gap+1 >= 64 {
			l.seen = 1
		} else {
			l.seen = l.seen<<(gap+1) | 1
		}
	}
}

// arrivedAll reports whether the n data shards from first on have all
// arrived, as far as the last 64 tell (false for any older).
func (l *inLoss) arrivedAll(first uint64, n int) bool {
	if !l.started || n <= 0 || first+uint64(n) > l.next || l.next-first > 64 {
		return false
	}
	span := uint64(1)<<n - 1 // n bits, the newest of them at bit l.next − first − n
	return l.seen>>(l.next-first-uint64(n))&span == span
}
