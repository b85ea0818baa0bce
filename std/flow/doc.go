// Package flow sizes a KCP session's send window and its timer interval
// while the session runs, from what the sender can see: kcp-go's smoothed
// round-trip time and whether the writer is held back by the window.
//
// kcptun sends whatever its fixed windows allow. With kcptun's defaults
// (sndwnd 1024 on the server, rcvwnd 512 on the client) that is several
// times the bandwidth-delay product of a typical long link, so the
// sender fills the bottleneck's queue: the round-trip time triples while
// a download runs, the queue overflows, and every segment behind a drop
// waits for a retransmission. Nothing in the protocol has to change to
// avoid that; only how much the sender keeps in flight.
//
// The Controller is delay based (in the manner of TCP Vegas and LEDBAT):
// it keeps the queueing delay it causes, the mean smoothed RTT of a round
// trip minus the least RTT seen in the last MinRTTWindow, near a small
// target (a quarter of the RTT, 5–15 ms, and no less than the KCP
// interval: a receiver holds its ACKs up to an interval unless a packet's
// worth are pending). Loss does not steer it: FEC and
// retransmissions repair loss, and a lossy link is not a congested one.
// It starts small and doubles the window every round trip until the
// queue reaches the target for two round trips in a row (the first holds
// the window: the RTT a download starts with may be stale), then moves the window half way toward the
// one that holds the target each round trip, never below the BDP of
// the rate its ACK trains read while the window overfills the path (a
// window that size keeps no queue). When no RTT has come near
// the least for half MinRTTWindow (a queue it keeps standing), it halves
// the window for one round trip so the queue drains and the least RTT
// stays the path's own. Writes into the session are paced at 1.25 ×
// window / least RTT, so a window freed at once (a repaired loss) is not
// sent as one burst.
//
// It also widens the KCP timer interval while the session sends in bulk.
// kcp-go's retransmission timeout is srtt + max(interval, 4·rttvar), and
// its RTT samples come from the newest segment each ACK packet covers, so
// with a 10 ms interval (fast3) the margin is smaller than the peer's ACK
// batching plus ordinary jitter: a bulk sender retransmitted a fifth of
// its segments spuriously on the bench's lossy link. A wider interval
// while in bulk (3 × the configured one, or the RTT, up to 100 ms)
// widens that margin, also past the silence when a burst of loss takes
// the peer's ACK packets for a while; it goes back a second after the bulk
// transfer ends, so interactive traffic keeps the quick timer.
//
// Under --sendctl rate (in any mode) the sender sees its peer's ACKs
// (transport.SealConn reads them) and the RateController takes over, in
// the manner of BBR. It measures the rate at which the peer receives
// segments, each round trip, and keeps the most of the last ten: loss
// does not lower it, and a lossy link is used at its rate. It keeps in
// flight what the rate fills over the least RTT, plus a short queue and
// the ACKs a receiver holds until its next flush, and paces the packets
// at 1.25 × the rate (in the SealConn, after kcp-go, so a window that a
// repaired loss frees all at once still leaves evenly); a path with more
// to give then delivers more, and the rate follows. KCP's window, which
// spans from the first segment not acknowledged, gets the segments
// acknowledged above that one on top, so a loss being repaired does not
// stall the sender. A queue that stands for two round trips means the
// link got slower: that round trip's rate replaces the estimate. Every
// 5 s the window falls to half the bandwidth-delay product for a round
// trip so the queue empties. It starts by doubling the rate each round
// trip until it stops growing or a queue forms.
//
// Nothing here touches the wire: a kcptun peer sees a sender that keeps
// fewer segments in flight, nothing else.
package flow
