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

// SmuxConfig returns smux.DefaultConfig() with the protocol version,
// session and stream receive buffers and keepalive interval set, the
// keepalive timeout at 30 s and frames of at most 32768 bytes, after
// smux.VerifyConfig.
func SmuxConfig(version, maxReceiveBuffer, maxStreamBuffer int, keepAlive time.Duration) (*smux.Config, error) {
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
	if err := smux.VerifyConfig(c); err != nil {
		return nil, fmt.Errorf("smux config: %w", err)
	}
	return c, nil
}
