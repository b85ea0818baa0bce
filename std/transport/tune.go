package transport

import (
	"log/slog"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/crypt"
)

// TuneSession applies the per-session KCP settings of wire.md §8 in
// kcptun's order. Both roles call it for every session. On a SealConn
// (c.SeesACKs()) kcp-go's MTU leaves room for the header the SealConn adds,
// so the packets on the wire are no larger than --mtu.
func TuneSession(s *kcp.UDPSession, c *config.Common) {
	mtu := c.MTU
	if c.SeesACKs() {
		mtu -= crypt.Overhead(c.Crypt)
	}
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(c.NoDelay, c.Interval, c.Resend, c.NoCongestion)
	s.SetWindowSize(c.SndWnd, c.RcvWnd)
	s.SetMtu(mtu)
	s.SetACKNoDelay(c.AckNodelay)
}

// socketTuner is what both *kcp.UDPSession (client) and *kcp.Listener
// (server) offer for the socket underneath.
type socketTuner interface {
	SetDSCP(int) error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

// TuneSocket sets DSCP and the socket buffers. Failures are logged, not
// fatal: a non-UDP transport (fake TCP, a test link) cannot take them.
func TuneSocket(t socketTuner, c *config.Common, log *slog.Logger) {
	if c.DSCP != 0 {
		if err := t.SetDSCP(c.DSCP); err != nil {
			log.Warn("cannot set DSCP", "dscp", c.DSCP, "err", err)
		}
	}
	if c.SockBuf > 0 {
		if err := t.SetReadBuffer(c.SockBuf); err != nil {
			log.Debug("cannot set socket read buffer", "sockbuf", c.SockBuf, "err", err)
		}
		if err := t.SetWriteBuffer(c.SockBuf); err != nil {
			log.Debug("cannot set socket write buffer", "sockbuf", c.SockBuf, "err", err)
		}
	}
}
