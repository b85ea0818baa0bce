package transport

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/flow"
)

// The packet layout kcp-go writes (wire.md): a 16-byte nonce and a CRC32
// before the payload when a block cipher is on, then, with FEC, the FEC
// header (seqid, type, and for data the size), then KCP segments.
const (
	nonceSize      = 16
	sealHeader     = nonceSize + 4 // nonce + CRC32
	fecHeader      = 6             // seqid + type
	fecSizeField   = 2             // data packets: the size of what follows the type
	fecTypeData    = 0xf1
	fecTypeParity  = 0xf2
	kcpSegHeader   = 24 // conv, cmd, frg, wnd, ts, sn, una, len
	kcpCmdPush     = 81
	peerIdleExpiry = 5 * time.Minute
)

// SealConn is a packet socket that does what kcp-go does to a packet
// after FEC (encryption and the CRC32 check) itself, byte for byte the
// same on the wire, so that it sees the FEC and KCP headers in the clear
// and can leave out parity shards: kcp-go runs on it with no cipher and an
// MTU smaller by the header. It reads the data segments each peer is sent
// to measure the residual loss (segments sent again), and lets a
// flow.Parity per peer choose how many parity shards of each group go
// out.
//
// It also reads the ACKs each peer sends back and the segments it sends
// us (Peer: Delivered, Lost, Gone, InFlight, TakeRTT, TakeRecvSpan), for
// the send control (Gone for either control's window, the rest for the
// rate control), and paces the data packets to each peer at
// the rate that control sets (Peer.SetPace): the batchWriter holds each
// until its time, so that no goroutine of kcp-go's waits for it. A
// peer's packets leave in the order written; a packet with no data of
// its own (ACKs, a parity shard) waits only behind the peer's data held
// before it.
//
// A data packet of a thin session (no more than thinFlight full
// segments' worth of bytes in the network: a shell, a game, a request)
// goes out twice, each copy sealed with its own nonce. It is bytes, not
// segments: a game's or a shell's small packets every 50 ms keep four
// or more in the network on a 200 ms path. Such a session sends too
// little for FEC groups to fill and for a loss to be seen from later
// ACKs, so a lost packet waits for the retransmission timeout, well over
// a round trip; a second copy makes that the rare case (at 2 % random
// loss, 0.04 %), for a few packets' worth of bytes. The peer, kcp-go or
// ours, keeps one: its FEC decoder drops a shard it has, KCP a segment
// it has. A bulk session is not thin, so a download is sent once. The
// two copies go back to back, and a burst of loss takes both; so a third
// follows a third of a round trip later (Peer.tailProbe) unless the peer
// has acknowledged the packet's data by then.
//
// A packet of ACKs alone goes out twice too while at least ackTwiceLoss
// of the peer's data shards fail to reach us (inLoss: the path's loss
// one way, taken for the other's). kcp-go resends at once every segment
// below two later ACKs (fast resend 2, fast3), and an ACK packet carries
// a flush's ACKs, a dozen at 12 Mbit/s: when one is lost, the next makes
// its sender resend them all, though they arrived. On a link losing 10 %
// each way that was three in four of the resends, 6 % of the bytes. A
// copy costs a few per cent of the data's bytes on the way back; KCP
// takes a second ACK of a segment as nothing (its fast-resend count only
// rises for a segment sent before the ACK's).
//
// kcp-go's batched socket calls (sendmmsg, recvmmsg) need the bare UDP
// socket, so kcp-go reads and writes a SealConn a packet per call. The
// SealConn reads and writes a UDP socket many packets per system call
// itself (batchReader, batchWriter); on Linux the batchWriter hands the
// kernel a run of equal-size packets to one peer as one segmented send.
// On any other socket (fake TCP, a test link) the batchWriter writes its
// packets one per call.
// With a cipher that encrypts many packets at once (aescfb's AES), the
// batchWriter encrypts each batch just before it goes, eight packets
// side by side.
type SealConn struct {
	net.PacketConn
	block  kcp.BlockCrypt // nil: no cipher ("null")
	header int            // sealHeader, or 0 with no cipher
	ds, ps int
	adapt  bool             // --mode auto: each peer's parity follows its loss
	rtts   int              // each peer's rttTrack size
	thin   int              // bytes of segments in the network a thin session has at most
	pool   sync.Pool        // *[]byte of sealBufSize
	now    func() time.Time // time.Now; tests set it
	batch  *batchReader     // nil: PacketConn is not a UDP socket
	out    *batchWriter

	mu    sync.Mutex
	peers map[netip.AddrPort]*Peer
	other map[string]*Peer // peers whose address is not an IP and port
	swept time.Time
}

const sealBufSize = 1500 + sealHeader

// thinFlight is the most full data segments a session may have in the
// network for its data packets to go out twice (as TCP's thin streams:
// four or fewer packets in flight); smaller segments count for less
// (Peer.thin).
const thinFlight = 4

// ackTwiceLoss is the loss of the peer's data shards from which packets
// of ACKs alone go out twice.
const ackTwiceLoss = 0.01

// NewSealConn wraps pc with block (c's cipher from crypt.New; nil for
// "null") and c's FEC shards. Closing the SealConn closes pc.
func NewSealConn(pc net.PacketConn, block kcp.BlockCrypt, c *config.Common) *SealConn {
	s := &SealConn{PacketConn: pc, block: block, ds: c.DataShard, ps: c.ParityShard, adapt: c.Auto(), rtts: rttRingFor(c.SndWnd),
		thin: thinFlight * (c.SegmentBytes() + kcpSegHeader), now: time.Now, peers: make(map[netip.AddrPort]*Peer), other: make(map[string]*Peer)}
	if block != nil {
		s.header = sealHeader
	}
	s.pool.New = func() any { b := make([]byte, sealBufSize); return &b }
	s.batch = newBatchReader(pc)
	s.out = newBatchWriter(pc, func(b *[]byte) { s.pool.Put(b) }, func() time.Time { return s.now() })
	if m, ok := block.(manyEncrypter); ok {
		s.out.seal = m.EncryptMany // see send
	}
	return s
}

// manyEncrypter is a cipher that encrypts a batch of packets at once
// (aescfb: eight side by side, where one packet's blocks chain).
type manyEncrypter interface {
	EncryptMany(packets [][]byte)
}

// Close sends the packets still queued, those the pacer holds too, then
// closes the socket.
func (s *SealConn) Close() error {
	s.out.drain()
	return s.PacketConn.Close()
}

// Overhead is what the SealConn adds to each packet kcp-go hands it.
func (s *SealConn) Overhead() int { return s.header }

// Peer returns the parity state of the peer at addr, making it if new.
func (s *SealConn) Peer(addr net.Addr) *Peer {
	return s.peerAt(addr, s.now())
}

// peerAt is Peer, at now.
func (s *SealConn) peerAt(addr net.Addr, now time.Time) *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerLocked(addr, now)
}

func (s *SealConn) peerLocked(addr net.Addr, now time.Time) *Peer {
	var p *Peer
	if ap, ok := addrPort(addr); ok {
		if p = s.peers[ap]; p == nil {
			p = newPeer(s.ds, s.ps, s.adapt, s.rtts, s.thin)
			s.peers[ap] = p
		}
	} else {
		key := addr.String()
		if p = s.other[key]; p == nil {
			p = newPeer(s.ds, s.ps, s.adapt, s.rtts, s.thin)
			s.other[key] = p
		}
	}
	p.used.Store(now.UnixNano())
	if now.Sub(s.swept) > peerIdleExpiry {
		s.sweepLocked(now)
	}
	return p
}

// sweepLocked forgets peers not sent to for peerIdleExpiry.
func (s *SealConn) sweepLocked(now time.Time) {
	s.swept = now
	cut := now.Add(-peerIdleExpiry).UnixNano()
	for k, p := range s.peers {
		if p.used.Load() < cut {
			delete(s.peers, k)
		}
	}
	for k, p := range s.other {
		if p.used.Load() < cut {
			delete(s.other, k)
		}
	}
}

// addrPort returns the key of the peer at addr (false: not an IP address
// and port).
//
// An IPv4 address is the same peer in either of its forms: a resolved
// address (net.ResolveUDPAddr, what a client's kcp-go sends to) holds it
// in 16 bytes, one read from the socket in 4, and as netip.AddrPort
// those differ (::ffff:127.0.0.1 against 127.0.0.1). Unmapped, a client's
// packets out and in meet at one Peer; before, what it read of the
// server's packets (ACKs, spans, loss) never reached the Peer its
// packets went out through.
func addrPort(addr net.Addr) (netip.AddrPort, bool) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		return ap, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// WriteTo seals p (a packet from kcp-go) and queues it for addr, unless
// it is a parity shard the peer's controller leaves out. Either way it
// reports len(p) written. It does not wait for the pacer: the packet
// waits in the batchWriter.
func (s *SealConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	typ := uint16(0)
	if len(p) >= fecHeader {
		typ = binary.LittleEndian.Uint16(p[4:])
	}
	var peer *Peer // nil: not a packet of kcp-go's FEC, not tracked
	var plan sendPlan
	switch typ {
	case fecTypeParity:
		peer = s.Peer(addr)
		if !s.sendParity(p, peer) {
			return len(p), nil
		}
	case fecTypeData:
		now := s.now()
		peer = s.peerAt(addr, now)
		plan = s.sendData(p, peer, now)
	}
	if err := s.send(p, addr, peer, plan.hold, nil); err != nil {
		return 0, err
	}
	// The copies are a bonus: the packet went out, so their errors are
	// not kcp-go's to see.
	if plan.twice && s.send(p, addr, peer, plan.hold, nil) == nil {
		peer.dups.Add(1)
	}
	if !plan.probe.IsZero() {
		lo, hi := plan.lo, plan.hi
		s.send(p, addr, peer, plan.probe, func() bool { return peer.missing(lo, hi) })
	}
	return len(p), nil
}

// sendPlan is how a data packet goes out.
type sendPlan struct {
	hold  time.Time // when it leaves (zero: at once)
	twice bool      // a copy goes with it
	// probe is when a third copy goes if the peer has not acknowledged
	// all of its data segments, lo to hi, by then (zero: none).
	probe  time.Time
	lo, hi uint32
}

// send seals p (a fresh nonce each time) and queues it for addr, held
// until hold if that is set, and then sent only if check (when not nil)
// still says so (see batchWriter.sendAt).
func (s *SealConn) send(p []byte, addr net.Addr, peer *Peer, hold time.Time, check func() bool) error {
	bp := s.pool.Get().(*[]byte)
	buf := (*bp)[:s.header+len(p)]
	copy(buf[s.header:], p)
	if s.block != nil {
		if _, err := rand.Read(buf[:nonceSize]); err != nil {
			s.pool.Put(bp)
			return err
		}
		binary.LittleEndian.PutUint32(buf[nonceSize:], crc32.ChecksumIEEE(buf[s.header:]))
		if s.out.seal == nil { // else the batchWriter encrypts it with the packets around it
			s.block.Encrypt(buf, buf)
		}
	}
	return s.out.sendAt(bp, len(buf), addr, peer, hold, check)
}

// inGroup returns the FEC group of the shard kcp-go numbered seqid and
// its place in it: a group's data shards come first (0 to ds − 1), then
// its parity shards.
func (s *SealConn) inGroup(seqid uint32) (group uint64, index int) {
	n := uint32(max(s.ds+s.ps, 1))
	return uint64(seqid / n), int(seqid % n)
}

// dataIndex returns the place of the data shard numbered seqid among all
// the data shards (false: seqid is a parity shard's).
func (s *SealConn) dataIndex(seqid uint32) (uint64, bool) {
	group, index := s.inGroup(seqid)
	return group*uint64(s.ds) + uint64(index), index < s.ds
}

// sendParity reports whether the parity shard p goes out: its index
// among its group's parity shards is below the peer's chosen count.
func (s *SealConn) sendParity(p []byte, peer *Peer) bool {
	_, index := s.inGroup(binary.LittleEndian.Uint32(p))
	index -= s.ds
	return index < int(peer.shards.Load())
}

// sendData paces the data packet p, written at now, to its peer and
// feeds the peer's controllers the KCP segments in it, timed when it
// will leave. It returns when p leaves, whether it goes out twice (see
// Peer.count), and for a thin session's data, when a third copy follows
// (see Peer.tailProbe).
func (s *SealConn) sendData(p []byte, peer *Peer, now time.Time) (plan sendPlan) {
	segs := fecPayload(p)
	if len(segs) == 0 {
		return plan
	}
	leaves := now
	lo, hi, push := pushRange(segs)
	if push {
		plan.hold = peer.pace(now, len(p)+s.header)
		if !plan.hold.IsZero() {
			leaves = plan.hold
		}
	}
	plan.twice = peer.count(leaves, segs)
	if plan.twice && push {
		if d := peer.tailProbe(); d > 0 {
			plan.probe, plan.lo, plan.hi = leaves.Add(d), lo, hi
		}
	}
	return plan
}

// ReadFrom reads the next packet that opens and passes its CRC32 check,
// into p without the header. A packet that fails is counted in
// kcp.DefaultSnmp.InCsumErrors (as kcp-go does) and skipped; one shorter
// than the header is skipped.
func (s *SealConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := s.readPacket(p)
		if err != nil {
			return n, addr, err
		}
		if s.block != nil {
			if n < s.header {
				continue
			}
			s.block.Decrypt(p[:n], p[:n])
			if crc32.ChecksumIEEE(p[s.header:n]) != binary.LittleEndian.Uint32(p[nonceSize:]) {
				atomic.AddUint64(&kcp.DefaultSnmp.InCsumErrors, 1)
				continue
			}
			n = copy(p, p[s.header:n])
		}
		if s.unneededParity(p[:n], addr) {
			continue
		}
		if segs := fecPayload(p[:n]); len(segs) > 0 {
			now := s.now()
			peer := s.peerAt(addr, now)
			idx, data := s.dataIndex(binary.LittleEndian.Uint32(p))
			if peer.received(now, idx, data, segs) {
				if f := peer.onAck.Load(); f != nil {
					(*f)()
				}
			}
		}
		return n, addr, nil
	}
}

// unneededParity reports whether p is a parity shard of a group whose
// data shards have all arrived. kcp-go's FEC decoder would copy it, keep
// it until the group ages out and never use it; on a clean link that is
// every parity shard, 3 of 13 packets at kcptun's default FEC. A peer
// whose shards do not fall where our FEC groups put them (other
// --datashard or --parityshard, which kcp-go's decoder follows) has
// every shard passed on.
func (s *SealConn) unneededParity(p []byte, addr net.Addr) bool {
	if s.ps == 0 || len(p) < fecHeader || binary.LittleEndian.Uint16(p[4:]) != fecTypeParity {
		return false
	}
	group, index := s.inGroup(binary.LittleEndian.Uint32(p))
	peer := s.peerAt(addr, s.now())
	peer.mu.Lock()
	defer peer.mu.Unlock()
	if index < s.ds {
		peer.foreign = true
	}
	return !peer.foreign && peer.in.arrivedAll(group*uint64(s.ds), s.ds)
}

// readPacket reads the next packet as it came, several per system call
// on a UDP socket.
func (s *SealConn) readPacket(p []byte) (int, net.Addr, error) {
	if s.batch != nil {
		return s.batch.ReadFrom(p)
	}
	return s.PacketConn.ReadFrom(p)
}

// Peer is what a SealConn knows of one peer: the parity it is sent, and
// how far the KCP windows between the two reach.
type Peer struct {
	shards atomic.Int32  // parity shards per group sent now
	used   atomic.Int64  // unix ns of the last packet to it
	rtt    atomic.Int64  // ns; set by SetRTT
	rate   atomic.Uint64 // pacing, bytes per second on the wire; 0: none
	onAck  atomic.Pointer[func()]
	dups   atomic.Uint64 // data packets sent twice (thin, or ACKs on a lossy path)

	paceMu   sync.Mutex // the pacer's clock; one goroutine sends a session's packets
	paceNext time.Time  // when the next packet may leave

	// held are the packets to the peer the batchWriter holds back for the
	// pacer, in the order written; guarded by the batchWriter's mu.
	held []queued

	adapt bool // the parity follows the loss (--mode auto); else every shard goes

	mu      sync.Mutex
	ctl     *flow.Parity
	maxSn   uint32 // the highest segment sent to it
	started bool
	conv    uint32 // the session's; a new one starts the counts afresh
	acks    ackTrack
	span    spanTrack
	rtts    rttTrack
	in      inLoss
	foreign bool // a shard came where our FEC groups have the other kind (see unneededParity)
	train   trainRate
	// segSize is the size of the data segments sent (with their header):
	// the largest at once, falling to smaller ones over a few
	// (segSizeWeight); thinBytes is what thinFlight full ones hold (see
	// thin).
	segSize   float64
	thinBytes int
}

// segSizeWeight is the number of segments over which segSize falls.
const segSizeWeight = 8

func newPeer(ds, ps int, adapt bool, rtts, thinBytes int) *Peer {
	p := &Peer{ctl: flow.NewParity(ds, ps), adapt: adapt, rtts: rttTrack{size: rtts}, thinBytes: thinBytes}
	if adapt {
		// The loss pattern says what parity could repair only while none
		// is sent (flow.Parity.Judged); under the fixed modes all of it is.
		p.acks.judged = p.ctl.Judged
	}
	// Every shard, as kcp-go makes them; under auto what the controller
	// starts with, which a peer sent ACKs alone keeps (count moves it only
	// with data).
	shards := ps
	if adapt {
		shards = p.ctl.Shards()
	}
	p.shards.Store(int32(shards))
	return p
}

// SetRTT tells the controller the path's round trip (the least).
func (p *Peer) SetRTT(rtt time.Duration) { p.rtt.Store(int64(rtt)) }

// The third copy of a thin session's packet follows it by a third of
// the path's round trip, within [tailProbeMin, tailProbeMax].
const (
	tailProbeMin = 10 * time.Millisecond
	tailProbeMax = 50 * time.Millisecond
)

// tailProbe returns how long after a thin session's data packet a third
// copy follows if the peer has not acknowledged its data by then (0: the
// round trip is not known yet). The two copies go back to back and are
// lost together in a burst of loss, and KCP resends only at its
// retransmission timeout, a round trip and more later; a copy a third
// of a round trip later is past most bursts.
func (p *Peer) tailProbe() time.Duration {
	rtt := time.Duration(p.rtt.Load())
	if rtt <= 0 {
		return 0
	}
	return min(max(rtt/3, tailProbeMin), tailProbeMax)
}

// missing reports whether the peer has yet to acknowledge any of the
// segments lo to hi, and counts the copy that then goes.
func (p *Peer) missing(lo, hi uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for sn := lo; int32(hi-sn) >= 0; sn++ {
		if !p.acks.has(sn) {
			p.dups.Add(1)
			return true
		}
	}
	return false
}

// State returns the parity controller's view, with the shards sent now.
func (p *Peer) State() flow.ParityState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.ctl.State()
	st.Shards = int(p.shards.Load())
	return st
}

// paceSlack is how far behind its schedule a paced peer may fall, and so
// the longest burst it sends at once; paceAhead is how far ahead of it a
// packet may leave rather than wait (a sleep costs more than that at tens
// of thousands of packets a second).
const (
	paceSlack = 2 * time.Millisecond
	paceAhead = time.Millisecond
)

// SetPace sets the rate, in bytes per second on the wire, at which
// packets to the peer leave (0: as fast as they come). kcp-go sends what
// the window frees at once; a repair that frees much of it would
// otherwise put a burst into the bottleneck's queue, delaying every
// packet behind it and looking, to a delay-based sender, like a queue
// that stands.
func (p *Peer) SetPace(bytesPerSecond float64) {
	p.rate.Store(uint64(max(bytesPerSecond, 0)))
}

// pace books the next slot for a packet of size bytes and returns when
// it may leave: zero when that is now (or no more than paceAhead away).
func (p *Peer) pace(now time.Time, size int) (hold time.Time) {
	rate := p.rate.Load()
	if rate == 0 {
		return hold
	}
	p.paceMu.Lock()
	at := p.paceNext
	if early := now.Add(-paceSlack); at.Before(early) {
		at = early
	}
	p.paceNext = at.Add(time.Duration(float64(size) / float64(rate) * 1e9))
	p.paceMu.Unlock()
	if at.Sub(now) > paceAhead {
		return at
	}
	return hold
}

// Gone returns how many segments from the peer's una up it has
// acknowledged. They hold the sender's KCP window, which spans from una,
// while a loss below them is repaired, though they are not in flight.
func (p *Peer) Gone() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acks.gone()
}

// OnAck sets f to be called, before kcp-go sees the packet, whenever a
// packet from the peer moves its una or acknowledges a segment above it.
func (p *Peer) OnAck(f func()) { p.onAck.Store(&f) }

// TakeRateSample returns what the rate control needs to know of the
// peer at now, in one look: the round trips of the segments it
// acknowledged since the last call (timed from when they left the
// socket; 0: none), how many segments it has received and how many were
// found lost (missing below later ones it acknowledged), in total, and
// how many are in the network (neither acknowledged nor lost). The
// caller fills in Blocked.
func (p *Peer) TakeRateSample(now time.Time) flow.RateSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := flow.RateSample{Now: now, Delivered: p.acks.delivered, Lost: p.acks.lost}
	s.MinRTT, s.RTT = p.rtts.take()
	if p.started && p.acks.started {
		s.InFlight = p.acks.inNetwork(p.maxSn + 1)
	}
	return s
}

// Duplicated returns how many copies of data packets went to the peer
// (see SealConn: a thin session's and their tail probes, and ACKs where
// packets are lost).
func (p *Peer) Duplicated() uint64 { return p.dups.Load() }

// TakeRecvSpan returns the most the peer had sent beyond what we ask for
// next (our una) since the last call: a span that reaches the receive
// window means the window holds the peer back.
func (p *Peer) TakeRecvSpan() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.span.take()
}

// session notes the conversation a segment belongs to; a new one (a new
// session from the same address) starts the counts afresh. p.mu is held.
func (p *Peer) session(conv uint32) {
	if conv != p.conv {
		clear(p.rtts.sent)
		p.started, p.acks, p.span, p.in, p.train, p.conv = false, ackTrack{judged: p.acks.judged}, spanTrack{}, inLoss{}, trainRate{}, conv
		p.segSize = 0
		p.rtts = rttTrack{sent: p.rtts.sent, size: p.rtts.size}
	}
}

// count walks the KCP segments of one data packet sent to the peer. It
// reports whether the packet goes out twice: it carries data of a thin
// flow (see thin), or
// ACKs alone while the peer's packets are lost (see SealConn).
func (p *Peer) count(now time.Time, segs []byte) (twice bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pushes, retrans, acks := 0, 0, 0
	for seg := range segments(segs) {
		p.session(seg.conv)
		p.span.sent(seg.una)
		if seg.cmd == kcpCmdAck {
			acks++
		}
		if seg.cmd != kcpCmdPush {
			continue
		}
		pushes++
		if size := float64(kcpSegHeader + seg.dataSize); size >= p.segSize {
			p.segSize = size // a burst of full segments is bulk at once
		} else {
			p.segSize += (size - p.segSize) / segSizeWeight
		}
		first := true
		switch {
		case !p.started:
			p.started, p.maxSn = true, seg.sn
			p.acks.start(seg.sn)
		case int32(seg.sn-p.maxSn) > 0:
			p.maxSn = seg.sn
		default:
			retrans++
			first = false
			p.acks.resent(seg.sn)
		}
		p.rtts.send(seg.sn, seg.ts, now, first)
	}
	if pushes == 0 {
		return acks > 0 && p.in.rate >= ackTwiceLoss
	}
	p.ctl.Sent(now, pushes, retrans, time.Duration(p.rtt.Load()))
	if p.adapt {
		p.shards.Store(int32(p.ctl.Shards()))
	}
	return p.thin()
}

// thin reports whether the session's segments in the network are no
// more than thinFlight, or hold no more bytes than thinFlight full ones
// (at segSize). p.mu is held.
func (p *Peer) thin() bool {
	n := p.acks.inNetwork(p.maxSn + 1)
	return n <= thinFlight || float64(n)*p.segSize <= float64(p.thinBytes)
}

// received walks the KCP segments of one data packet from the peer (data
// shard idx, when data: see SealConn.dataIndex) and reports whether they
// changed what is Gone.
func (p *Peer) received(now time.Time, idx uint64, data bool, segs []byte) (acked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before := p.acks.gone()
	for seg := range segments(segs) {
		p.session(seg.conv)
		p.acks.advance(seg.una)
		switch seg.cmd {
		case kcpCmdAck:
			p.acks.ack(seg.sn)
			if p.rtts.acked(seg.sn, seg.ts, now) {
				p.ctl.Spurious(1)
			}
		case kcpCmdPush:
			p.span.received(seg.sn)
		}
	}
	if data {
		p.in.arrived(idx)
	} else {
		p.foreign = true
	}
	p.train.add(now, p.acks.delivered)
	return p.acks.gone() != before
}

// TakeBottleneck returns the most segments per second the peer
// acknowledged of segments that reached it back to back, since the last
// call (0: unknown): the rate of the path's bottleneck once a burst of
// the sender's has met it (see trainRate).
func (p *Peer) TakeBottleneck() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.train.take()
}

// SetReadBuffer sets the read buffer of the socket underneath, for
// kcp-go's SetReadBuffer (--sockbuf).
func (s *SealConn) SetReadBuffer(bytes int) error {
	if u, ok := s.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return u.SetReadBuffer(bytes)
	}
	return fmt.Errorf("set read buffer on %T: %w", s.PacketConn, errors.ErrUnsupported)
}

// SetWriteBuffer sets the write buffer of the socket underneath.
func (s *SealConn) SetWriteBuffer(bytes int) error {
	if u, ok := s.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return u.SetWriteBuffer(bytes)
	}
	return fmt.Errorf("set write buffer on %T: %w", s.PacketConn, errors.ErrUnsupported)
}

// SetDSCP marks the packets of the socket underneath, as kcp-go does for
// a bare socket (--dscp).
func (s *SealConn) SetDSCP(dscp int) error {
	if u, ok := s.PacketConn.(interface{ SetDSCP(int) error }); ok {
		return u.SetDSCP(dscp)
	}
	nc, ok := s.PacketConn.(net.Conn)
	if !ok {
		return fmt.Errorf("set DSCP on %T: %w", s.PacketConn, errors.ErrUnsupported)
	}
	err4 := ipv4.NewConn(nc).SetTOS(dscp << 2)
	err6 := ipv6.NewConn(nc).SetTrafficClass(dscp)
	if err4 != nil && err6 != nil {
		return fmt.Errorf("set DSCP: %w", errors.Join(err4, err6))
	}
	return nil
}
