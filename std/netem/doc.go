// Package netem is a user-space link emulator: it impairs datagrams the way
// a real path does (Bernoulli and Gilbert-Elliott burst loss, one-way delay
// with jitter, a rate limit with a drop-tail queue, reordering, duplication),
// because the kernel's netem qdisc is not available everywhere the tunnel is
// tested and benchmarked.
//
// A Spec describes one direction of a link. Profile returns the named specs
// (clean, lossy, bad, bursty, satellite, changing) and ParseSpec reads
// ad-hoc ones such as "rate=50mbit,delay=40ms,jitter=5ms,loss=2%,queue=100ms"
// or a profile with overrides, "lossy,loss=5%". A Spec with Phases changes
// its rate and loss at set times after the link's first packet
// ("lossy,phase=10s/10mbit/10%,phase=20s/50mbit/2%"), to see how a
// transport follows a link that changes under it.
//
// A Link carries one direction. Every packet's fate is decided when it is
// sent, in this order:
//
//  1. rate and queue: the packet waits for the bottleneck to finish the
//     packets ahead of it; if that wait would exceed Spec.Queue it is
//     dropped (drop-tail) and never occupies the link;
//  2. loss: Gilbert-Elliott and Bernoulli loss are drawn after the
//     bottleneck, so a lost packet has used its share of the rate, as on a
//     lossy wire;
//  3. delay: the packet leaves the bottleneck, then travels Delay plus a
//     jitter drawn uniformly from [0, Jitter). Packets of one direction are
//     never reordered by jitter: a packet that would overtake the previous
//     one is held until that one has left (so at high packet rates the
//     effective delay drifts toward Delay+Jitter, as with kernel netem and a
//     rate limit);
//  4. reordering: with probability Reorder a packet is held ReorderGap
//     longer and exempted from the ordering rule, so the packets behind it
//     overtake it;
//  5. duplication: with probability Duplicate a second copy is delivered
//     right after the original (the copy does not consume rate).
//
// Pending packets sit in a min-heap served by one goroutine per link, which
// delivers each packet at its scheduled time. Go timers fire up to a
// millisecond late, so the last stretch of every wait is slept with
// nanosleep on a dedicated OS thread (Linux); the link measures how late each
// delivery actually was (DirStats.Lateness) so a run can tell whether its
// timing can be trusted.
//
// Three adapters put a link where a socket would be:
//   - NewPair: two in-process net.PacketConns joined by a link, for tests
//     (kcp-go's NewConn and ServeConn accept them);
//   - Wrap: an existing net.PacketConn (a real UDP socket) whose outgoing
//     and incoming datagrams pass through a link each;
//   - Relay: a UDP relay between real client and server processes, with one
//     upstream socket per client source address.
package netem
