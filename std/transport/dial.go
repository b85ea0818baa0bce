package transport

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
)

// PacketDialer opens the packet socket of one new client session towards
// raddr and returns it with the resolved peer address. The session owns
// the socket and closes it.
type PacketDialer func(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error)

// DialUDP is the default PacketDialer: a fresh UDP socket per session, as
// kcptun does (so each session has its own source port).
func DialUDP(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error) {
	var r net.Resolver
	host, port, err := net.SplitHostPort(raddr)
	if err != nil {
		return nil, nil, fmt.Errorf("remote address %q: %w", raddr, err)
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve %q: %w", host, err)
	}
	udpAddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ips[0].Unmap().String(), port))
	if err != nil {
		return nil, nil, fmt.Errorf("remote address %q: %w", raddr, err)
	}
	network := "udp4"
	if udpAddr.IP.To4() == nil {
		network = "udp"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("open UDP socket: %w", err)
	}
	return conn, udpAddr, nil
}

// Dial makes one tuned KCP session to raddr over a socket from dial.
func Dial(ctx context.Context, dial PacketDialer, raddr string, block kcp.BlockCrypt, c *config.Common, log *slog.Logger) (*kcp.UDPSession, error) {
	pc, addr, err := dial(ctx, raddr)
	if err != nil {
		return nil, err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		pc.Close()
		return nil, fmt.Errorf("conversation id: %w", err)
	}
	if c.SeesACKs() { // the send control reads the ACKs: kcp-go seals nothing itself
		pc, block = NewSealConn(pc, block, c), nil
	}
	s, err := kcp.NewConn4(binary.LittleEndian.Uint32(b[:]), addr, block, c.DataShard, c.ParityShard, true, pc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("kcp session to %s: %w", raddr, err)
	}
	TuneSession(s, c)
	TuneSocket(s, c, log)
	return s, nil
}

// Listen serves KCP on pc. The returned listener does not own pc: the
// caller closes pc after closing the listener. When c.SeesACKs(), kcp-go
// runs on a SealConn around pc, returned too (nil otherwise).
func Listen(pc net.PacketConn, block kcp.BlockCrypt, c *config.Common, log *slog.Logger) (*kcp.Listener, *SealConn, error) {
	var sc *SealConn
	if c.SeesACKs() { // the send control reads the ACKs: kcp-go seals nothing itself
		sc = NewSealConn(pc, block, c)
		pc, block = sc, nil
	}
	l, err := kcp.ServeConn(block, c.DataShard, c.ParityShard, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("kcp listener on %s: %w", pc.LocalAddr(), err)
	}
	TuneSocket(l, c, log)
	return l, sc, nil
}

// PeerOf returns the parity state of a client session's peer when the
// session runs on a SealConn (Dial made it so: config.Common.SeesACKs), or nil.
func PeerOf(s *kcp.UDPSession) *Peer {
	var p *Peer
	s.Control(func(pc net.PacketConn) error {
		if sc, ok := pc.(*SealConn); ok {
			p = sc.Peer(s.RemoteAddr())
		}
		return nil
	})
	return p
}
