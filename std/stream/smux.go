package stream

import (
	"errors"
	"fmt"
	"time"

	"github.com/xtaci/smux"
)

// Smux frame size and keepalive timeout kcptun v20240729 uses (wire.md §7).
const (
	SmuxMaxFrameSize     = 32768
	SmuxKeepAliveTimeout = 30 * time.Second
)

// ErrSmuxKeepAlive is returned by SmuxConfig for a keepalive interval
// that is not positive and below SmuxKeepAliveTimeout: the session would
// time out between keepalives (or smux would panic on a negative one).
var ErrSmuxKeepAlive = errors.New("smux keepalive must be positive and below the 30 s keepalive timeout")

// FrameSize returns the smux frame size to send: the largest up to
// SmuxMaxFrameSize whose frame, with its smux header and (snappy on) the
// header of the snappy chunk it travels in, fills whole KCP segments of
// segment bytes of data. KCP splits each write into segments and sends
// the last one part full when the window lets it go before the next
// write comes, which in bulk it does: a 32768-byte frame was 26
// segments of 1298 bytes (kcptun's default --mtu, aes, FEC 10/3), the
// last a quarter full, where 32434 bytes fill 25. KCP's windows count
// segments, so a window-bound sender carried 3 % less; the peer reads
// any frame size (kcptun's own frames are smaller when a read was).
// For data snappy compresses the chunks vary in size, and a segment
// count that does not fit returns SmuxMaxFrameSize.
func FrameSize(segment int, snappy bool) int {
	overhead := smuxHeader
	if snappy {
		overhead += chunkHeaderLen + checksumLen
	}
	if segment <= 0 || segment > SmuxMaxFrameSize {
		return SmuxMaxFrameSize
	}
	return (SmuxMaxFrameSize+overhead)/segment*segment - overhead
}

// SmuxConfig returns smux.DefaultConfig() with the protocol version,
// session and stream receive buffers and keepalive interval set, the
// keepalive timeout at 30 s and frames of at most frameSize bytes
// (SmuxMaxFrameSize when 0; see FrameSize), after smux.VerifyConfig.
func SmuxConfig(version, maxReceiveBuffer, maxStreamBuffer int, keepAlive time.Duration, frameSize int) (*smux.Config, error) {
	if keepAlive <= 0 || keepAlive >= SmuxKeepAliveTimeout {
		return nil, fmt.Errorf("%w: got %v", ErrSmuxKeepAlive, keepAlive)
	}
	c := smux.DefaultConfig()
	c.Version = version
	c.MaxReceiveBuffer = maxReceiveBuffer
	c.MaxStreamBuffer = maxStreamBuffer
	c.KeepAliveInterval = keepAlive
	c.KeepAliveTimeout = SmuxKeepAliveTimeout
	c.MaxFrameSize = SmuxMaxFrameSize
	if frameSize > 0 {
		c.MaxFrameSize = frameSize
	}
	if err := smux.VerifyConfig(c); err != nil {
		return nil, fmt.Errorf("smux config: %w", err)
	}
	return c, nil
}
