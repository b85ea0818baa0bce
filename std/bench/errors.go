package bench

import "errors"

var (
	// ErrCorrupt is wrapped by every error about received bytes that differ
	// from what the target sent.
	ErrCorrupt = errors.New("bench: received bytes differ from the pattern")
	// ErrShort is wrapped when a transfer ends before all its bytes arrived.
	ErrShort = errors.New("bench: transfer ended early")
	// ErrNotReady is wrapped when a started pair never carried a probe.
	ErrNotReady = errors.New("bench: tunnel did not become ready")
	// ErrUsage is wrapped by every error about the bench's flags.
	ErrUsage = errors.New("bad usage")
	// ErrUnavailable is wrapped when a baseline cannot run on this machine
	// (not root, no TUN device, congestion control missing).
	ErrUnavailable = errors.New("bench: unavailable here")
)
