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
	"github.com/kcptun-go/tunnel/std/crypt"
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

// Sealed reports whether c's sessions run over a SealConn: with --mode
// auto, FEC on and a cipher kcp-go applies as nonce + CRC32 + block
// cipher (or none at all), the sender chooses its parity per peer.
// aes-128-gcm keeps kcp-go's own sealing and every parity shard.
func Sealed(c *config.Common) bool {
	return c.Auto() && c.DataShard > 0 && c.ParityShard > 0 && !crypt.AEAD(c.Crypt)
}

// SealConn is a packet socket that does what kcp-go does to a packet
// after FEC (encryption and the CRC32 check) itself, byte for byte the
// same on the wire, so that it sees the FEC and KCP headers in the clear
// and can leave out parity shards: kcp-go runs on it with no cipher and an
// MTU smaller by the header. It reads the data segments each peer is sent
// to measure the residual loss (segments sent again), and lets a
// flow.Parity per peer choose how many parity shards of each group go
// out.
//
// kcp-go's batched socket calls (sendmmsg, recvmmsg) need the bare UDP
// socket, so a session on a SealConn sends and receives a packet per
// system call.
type SealConn struct {
	net.PacketConn
	block  kcp.BlockCrypt // nil: no cipher ("null")
	header int            // sealHeader, or 0 with no cipher
	ds, ps int
	pool   sync.Pool        // *[]byte of sealBufSize
	now    func() time.Time // time.Now; tests set it

	mu    sync.Mutex
	peers map[netip.AddrPort]*Peer
	other map[string]*Peer // peers whose address is not an IP and port
	swept time.Time
}

const sealBufSize = 1500 + sealHeader

// NewSealConn wraps pc with block (c's cipher from crypt.New; nil for
// "null") and c's FEC shards. Closing the SealConn closes pc.
func NewSealConn(pc net.PacketConn, block kcp.BlockCrypt, c *config.Common) *SealConn {
	s := &SealConn{PacketConn: pc, block: block, ds: c.DataShard, ps: c.ParityShard,
		now: time.Now, peers: make(map[netip.AddrPort]*Peer), other: make(map[string]*Peer)}
	if block != nil {
		s.header = sealHeader
	}
	s.pool.New = func() any { b := make([]byte, sealBufSize); return &b }
	return s
}

// Overhead is what the SealConn adds to each packet kcp-go hands it.
func (s *SealConn) Overhead() int { return s.header }

// Peer returns the parity state of the peer at addr, making it if new.
func (s *SealConn) Peer(addr net.Addr) *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerLocked(addr, s.now())
}

func (s *SealConn) peerLocked(addr net.Addr, now time.Time) *Peer {
	var p *Peer
	if ap, ok := addrPort(addr); ok {
		if p = s.peers[ap]; p == nil {
			p = newPeer(s.ps)
			s.peers[ap] = p
		}
	} else {
		key := addr.String()
		if p = s.other[key]; p == nil {
			p = newPeer(s.ps)
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

func addrPort(addr net.Addr) (netip.AddrPort, bool) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		return a.AddrPort(), true
	case *net.TCPAddr:
		return a.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

// WriteTo seals p (a packet from kcp-go) and sends it to addr, unless it
// is a parity shard the peer's controller leaves out. Either way it
// reports len(p) written.
func (s *SealConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if len(p) >= fecHeader {
		switch binary.LittleEndian.Uint16(p[4:]) {
		case fecTypeData:
			s.countData(p, addr)
		case fecTypeParity:
			if !s.sendParity(p, addr) {
				return len(p), nil
			}
		}
	}
	if s.block == nil {
		return s.PacketConn.WriteTo(p, addr)
	}
	bp := s.pool.Get().(*[]byte)
	defer s.pool.Put(bp)
	buf := (*bp)[:s.header+len(p)]
	if _, err := rand.Read(buf[:nonceSize]); err != nil {
		return 0, err
	}
	copy(buf[s.header:], p)
	binary.LittleEndian.PutUint32(buf[nonceSize:], crc32.ChecksumIEEE(buf[s.header:]))
	s.block.Encrypt(buf, buf)
	if _, err := s.PacketConn.WriteTo(buf, addr); err != nil {
		return 0, err
	}
	return len(p), nil
}

// sendParity reports whether the parity shard p goes out: its index in
// its group is below the peer's chosen count.
func (s *SealConn) sendParity(p []byte, addr net.Addr) bool {
	group := uint32(s.ds + s.ps)
	index := int(binary.LittleEndian.Uint32(p)%group) - s.ds
	s.mu.Lock()
	peer := s.peerLocked(addr, s.now())
	s.mu.Unlock()
	return index < int(peer.shards.Load())
}

// countData feeds the peer's controller the push segments in the data
// packet p and which of them were sent before.
func (s *SealConn) countData(p []byte, addr net.Addr) {
	if len(p) < fecHeader+fecSizeField {
		return
	}
	end := min(fecHeader+int(binary.LittleEndian.Uint16(p[fecHeader:])), len(p))
	if end < fecHeader+fecSizeField { // a size field shorter than itself
		return
	}
	now := s.now()
	s.mu.Lock()
	peer := s.peerLocked(addr, now)
	s.mu.Unlock()
	peer.count(now, p[fecHeader+fecSizeField:end])
}

// ReadFrom reads the next packet that opens and passes its CRC32 check,
// into p without the header. A packet that fails is counted in
// kcp.DefaultSnmp.InCsumErrors (as kcp-go does) and skipped; one shorter
// than the header is skipped.
func (s *SealConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := s.PacketConn.ReadFrom(p)
		if err != nil || s.block == nil {
			return n, addr, err
		}
		if n < s.header {
			continue
		}
		s.block.Decrypt(p[:n], p[:n])
		if crc32.ChecksumIEEE(p[s.header:n]) != binary.LittleEndian.Uint32(p[nonceSize:]) {
			atomic.AddUint64(&kcp.DefaultSnmp.InCsumErrors, 1)
			continue
		}
		return copy(p, p[s.header:n]), addr, nil
	}
}

// Peer is the parity state of one peer of a SealConn.
type Peer struct {
	shards atomic.Int32 // parity shards per group sent now
	used   atomic.Int64 // unix ns of the last packet to it
	rtt    atomic.Int64 // ns; set by SetRTT

	mu      sync.Mutex
	ctl     *flow.Parity
	maxSn   uint32
	started bool
}

func newPeer(ps int) *Peer {
	p := &Peer{ctl: flow.NewParity(ps)}
	p.shards.Store(int32(ps))
	return p
}

// SetRTT tells the controller the path's round trip.
func (p *Peer) SetRTT(rtt time.Duration) { p.rtt.Store(int64(rtt)) }

// State returns the controller's view.
func (p *Peer) State() flow.ParityState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.State()
}

// count walks the KCP segments of one data packet.
func (p *Peer) count(now time.Time, segs []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pushes, retrans := 0, 0
	for len(segs) >= kcpSegHeader {
		size := int(binary.LittleEndian.Uint32(segs[20:]))
		if segs[4] == kcpCmdPush {
			sn := binary.LittleEndian.Uint32(segs[12:])
			pushes++
			switch {
			case !p.started:
				p.started, p.maxSn = true, sn
			case int32(sn-p.maxSn) > 0:
				p.maxSn = sn
			default:
				retrans++
			}
		}
		if size < 0 || size > len(segs)-kcpSegHeader {
			break
		}
		segs = segs[kcpSegHeader+size:]
	}
	if pushes == 0 {
		return
	}
	p.ctl.Sent(now, pushes, retrans, time.Duration(p.rtt.Load()))
	p.shards.Store(int32(p.ctl.Shards()))
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
