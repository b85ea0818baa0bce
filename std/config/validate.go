package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kcptun-go/tunnel/std/crypt"
	"github.com/kcptun-go/tunnel/std/portrange"
)

// ErrInvalid is wrapped by every problem Validate reports.
var ErrInvalid = errors.New("invalid configuration")

// Limits that Validate enforces.
const (
	MaxMTU       = 1500 // kcp-go ignores anything larger
	mtuBase      = 50   // KCP header and slack, before crypt and FEC
	kcpHeader    = 24   // a KCP segment's header
	fecOverhead  = 8    // FEC header when ds > 0 and ps > 0
	maxShards    = 255  // Reed-Solomon: data + parity shards
	smuxTimeout  = 30   // smux KeepAliveTimeout in seconds
	maxSmuxBuf   = 1<<31 - 1
	maxQPPCount  = 65535 // QPP takes the count as uint16
	maxDSCP      = 63
	qppMinKeyLen = 210 // qpp.QPPMinimumSeedLength(8)
	qppMinPads   = 7   // qpp.QPPMinimumPads(8)
)

// FieldError is one problem found by Validate: the flag, its value and
// what is allowed.
type FieldError struct {
	Flag  string // flag name without dashes, e.g. "mtu"
	Value any    // nil when Msg starts with it
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("--%s %s", e.Flag, e.Msg)
	}
	if s, ok := e.Value.(string); ok {
		return fmt.Sprintf("--%s %q: %s", e.Flag, s, e.Msg)
	}
	return fmt.Sprintf("--%s %v: %s", e.Flag, e.Value, e.Msg)
}

// Unwrap makes every FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// problems collects FieldErrors.
type problems []error

func (p *problems) add(flag string, value any, format string, args ...any) {
	*p = append(*p, &FieldError{Flag: flag, Value: value, Msg: fmt.Sprintf(format, args...)})
}

// atLeast reports value < low.
func (p *problems) atLeast(flag string, value, low int) {
	if value < low {
		p.add(flag, value, "must be %d or more", low)
	}
}

// between reports a value outside [low, high].
func (p *problems) between(flag string, value, low, high int) {
	if value < low || value > high {
		p.add(flag, value, "must be between %d and %d", low, high)
	}
}

// portRange reports a value that is not HOST:PORT or HOST:MIN-MAX.
func (p *problems) portRange(flag, value string) {
	_, err := portrange.Parse(value)
	var perr *portrange.Error
	switch {
	case errors.As(err, &perr):
		p.add(flag, value, "%s", perr.Reason)
	case err != nil:
		p.add(flag, value, "%v", err)
	}
}

// Validate reports every problem of the client's configuration at once
// (errors.Join of *FieldError, each wrapping ErrInvalid), or nil.
func (c Client) Validate() error {
	p := c.Common.problems()
	if c.LocalAddr == "" {
		p.add("localaddr", c.LocalAddr, "must not be empty: want a TCP address like :12948 or a unix socket path")
	}
	p.portRange("remoteaddr", c.RemoteAddr)
	p.atLeast("conn", c.Conn, 1)
	p.atLeast("autoexpire", c.AutoExpire, 0)
	p.atLeast("scavengettl", c.ScavengeTTL, 0)
	return errors.Join(p...)
}

// Validate reports every problem of the server's configuration at once
// (errors.Join of *FieldError, each wrapping ErrInvalid), or nil.
func (s Server) Validate() error {
	p := s.Common.problems()
	p.portRange("listen", s.Listen)
	if s.Target == "" {
		p.add("target", s.Target, "must not be empty: want host:port or a unix socket path")
	}
	return errors.Join(p...)
}

// problems checks the shared settings.
func (c Common) problems() problems {
	var p problems
	if !crypt.Valid(c.Crypt) {
		p.add("crypt", c.Crypt, "unknown cipher; valid values: %s", strings.Join(crypt.Names(), ", "))
	}
	if !ValidMode(c.Mode) {
		p.add("mode", c.Mode, "unknown mode; valid values: %s", strings.Join(ModeNames(), ", "))
	}
	if low := c.MinMTU(); c.MTU < low || c.MTU > MaxMTU {
		p.add("mtu", c.MTU, "must be between %d and %d (%d for KCP + %d for --crypt %s + %d for FEC)",
			low, MaxMTU, mtuBase, crypt.Overhead(c.Crypt), c.Crypt, c.fecOverhead())
	}
	p.atLeast("sndwnd", c.SndWnd, 1)
	p.atLeast("rcvwnd", c.RcvWnd, 1)
	c.shardProblems(&p)
	p.between("dscp", c.DSCP, 0, maxDSCP)
	p.atLeast("sockbuf", c.SockBuf, 0)
	c.smuxProblems(&p)
	p.atLeast("snmpperiod", c.SnmpPeriod, 1)
	c.metricsProblems(&p)
	p.between("QPPCount", c.QPPCount, 1, maxQPPCount)
	if !slices.Contains(SendCtlNames(), c.SendCtl) {
		p.add("sendctl", c.SendCtl, "unknown value; valid values: %s", strings.Join(SendCtlNames(), ", "))
	} else if c.Auto() && c.SendCtl == SendCtlOff {
		p.add("sendctl", c.SendCtl, "--mode auto needs the send control: use --sendctl %s, or a fixed --mode", SendCtlDelay)
	} else if c.SendCtl == SendCtlRate && !c.canSeeACKs() {
		p.add("sendctl", c.SendCtl, "the rate control reads the peer's ACKs, which needs FEC (--datashard and --parityshard above 0) and a --crypt other than aes-128-gcm; use --sendctl %s here", SendCtlDelay)
	}
	for _, f := range []struct {
		name  string
		value int
	}{{"nodelay", c.NoDelay}, {"interval", c.Interval}, {"resend", c.Resend}, {"nc", c.NoCongestion}} {
		p.atLeast(f.name, f.value, 0)
	}
	return p
}

// fecOverhead is the FEC header size, 0 when FEC is off (ds or ps is 0).
func (c Common) fecOverhead() int {
	if c.DataShard > 0 && c.ParityShard > 0 {
		return fecOverhead
	}
	return 0
}

// SegmentBytes is the payload of one KCP segment at the configured --mtu,
// --crypt and FEC: what is left after their headers and KCP's.
func (c Common) SegmentBytes() int {
	return c.MTU - crypt.Overhead(c.Crypt) - c.fecOverhead() - kcpHeader
}

// MinMTU is the smallest --mtu that leaves room for the headers of the
// configured crypt and FEC.
func (c Common) MinMTU() int {
	return mtuBase + crypt.Overhead(c.Crypt) + c.fecOverhead()
}

func (c Common) shardProblems(p *problems) {
	p.atLeast("datashard", c.DataShard, 0)
	p.atLeast("parityshard", c.ParityShard, 0)
	if sum := c.DataShard + c.ParityShard; c.DataShard > 0 && c.ParityShard > 0 && sum > maxShards {
		p.add("datashard", nil, "%d + --parityshard %d: %d shards, at most %d allowed (Reed-Solomon); 0 for either turns FEC off",
			c.DataShard, c.ParityShard, sum, maxShards)
	}
}

func (c Common) smuxProblems(p *problems) {
	if c.SmuxVer != 1 && c.SmuxVer != 2 {
		p.add("smuxver", c.SmuxVer, "must be 1 or 2")
	}
	p.between("smuxbuf", c.SmuxBuf, 1, maxSmuxBuf)
	p.between("streambuf", c.StreamBuf, 1, maxSmuxBuf)
	if c.StreamBuf > c.SmuxBuf && c.SmuxBuf > 0 {
		p.add("streambuf", c.StreamBuf, "must not be above --smuxbuf %d", c.SmuxBuf)
	}
	if c.KeepAlive < 1 || c.KeepAlive >= smuxTimeout {
		p.add("keepalive", c.KeepAlive, "must be between 1 and %d seconds (below the %d s smux keepalive timeout)", smuxTimeout-1, smuxTimeout)
	}
}

// Warnings lists the non-fatal problems: a --metrics address that is not
// loopback, and kcptun's three QPP warnings, only when QPP is on.
func (c Common) Warnings() []string {
	w := c.metricsWarnings()
	if !c.QPP {
		return w
	}
	if len(c.Key) < qppMinKeyLen {
		w = append(w, fmt.Sprintf("QPP Warning: 'key' has size of %d bytes, required %d bytes at least", len(c.Key), qppMinKeyLen))
	}
	if c.QPPCount < qppMinPads {
		w = append(w, fmt.Sprintf("QPP Warning: QPPCount %d, required %d at least", c.QPPCount, qppMinPads))
	}
	if c.QPPCount%2 == 0 {
		w = append(w, fmt.Sprintf("QPP Warning: QPPCount %d is not coprime to 8, choose a prime number for security", c.QPPCount))
	}
	return w
}
