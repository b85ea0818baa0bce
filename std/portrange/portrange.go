package portrange

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
)

// MinPort and MaxPort bound every port of a Range.
const (
	MinPort = 1
	MaxPort = 65535
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid address")

// Error is the error Parse returns: the value and why it is not accepted.
type Error struct {
	Value  string
	Reason string // what is wrong and what is allowed
}

func (e *Error) Error() string { return fmt.Sprintf("%v %q: %s", ErrInvalid, e.Value, e.Reason) }

// Unwrap makes every Error match ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Range is a host with an inclusive range of ports; Min == Max for a
// single port. Host is unbracketed ("::1", not "[::1]") and may be empty.
type Range struct {
	Host     string
	Min, Max int
}

// Parse parses "HOST:PORT" or "HOST:MIN-MAX". An IPv6 host must be in
// brackets; ports are 1-65535 and MIN must not be above MAX.
func Parse(s string) (Range, error) {
	host, ports, err := splitHostPorts(s)
	if err != nil {
		return Range{}, err
	}
	lo, hi, err := parsePorts(s, ports)
	if err != nil {
		return Range{}, err
	}
	return Range{Host: host, Min: lo, Max: hi}, nil
}

// invalid builds the *Error for value s.
func invalid(s, format string, args ...any) error {
	return &Error{Value: s, Reason: fmt.Sprintf(format, args...)}
}

const wantForm = "want HOST:PORT or HOST:MIN-MAX, e.g. vps:29900 or vps:29900-29910 ([::1]:29900 for IPv6)"

// splitHostPorts splits s into its host and its port part, with a helpful
// message for a bare IPv6 address.
func splitHostPorts(s string) (host, ports string, err error) {
	if !strings.HasPrefix(s, "[") && strings.Count(s, ":") > 1 {
		return "", "", bareIPv6(s)
	}
	host, ports, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", invalid(s, "%s", wantForm)
	}
	if ports == "" {
		return "", "", invalid(s, "missing port: %s", wantForm)
	}
	return host, ports, nil
}

// bareIPv6 explains that an IPv6 host needs brackets, suggesting the
// bracketed form when s reads as an IPv6 address followed by a port.
func bareIPv6(s string) error {
	i := strings.LastIndexByte(s, ':')
	if host, ports := s[:i], s[i+1:]; net.ParseIP(host) != nil && ports != "" {
		return invalid(s, "an IPv6 host must be in brackets: write [%s]:%s", host, ports)
	}
	return invalid(s, "an IPv6 host must be in brackets, e.g. [::1]:29900 or [::1]:29900-29910")
}

// parsePorts parses "PORT" or "MIN-MAX".
func parsePorts(s, ports string) (lo, hi int, err error) {
	minStr, maxStr, isRange := strings.Cut(ports, "-")
	if lo, err = parsePort(s, minStr); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parsePort(s, maxStr); err != nil {
		return 0, 0, err
	}
	if lo > hi {
		return 0, 0, invalid(s, "port range %d-%d is backwards: want MIN-MAX with MIN <= MAX", lo, hi)
	}
	return lo, hi, nil
}

// parsePort parses one decimal port number in 1-65535.
func parsePort(s, p string) (int, error) {
	if p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return 0, invalid(s, "port %q is not a number in %d-%d; %s", p, MinPort, MaxPort, wantForm)
	}
	n, _ := strconv.Atoi(p) // at most 5 digits: cannot fail
	if n < MinPort || n > MaxPort {
		return 0, invalid(s, "port %d is outside %d-%d", n, MinPort, MaxPort)
	}
	return n, nil
}

// Len is the number of ports in the range.
func (r Range) Len() int { return r.Max - r.Min + 1 }

// Addr is "host:port" for one port (IPv6 hosts bracketed).
func (r Range) addr(port int) string {
	return net.JoinHostPort(r.Host, strconv.Itoa(port))
}

// Addrs lists "host:port" for every port of the range, lowest first.
func (r Range) Addrs() []string {
	addrs := make([]string, 0, r.Len())
	for p := r.Min; p <= r.Max; p++ {
		addrs = append(addrs, r.addr(p))
	}
	return addrs
}

// Pick returns "host:port" for a uniformly random port of the range.
// rnd(n) must return an integer in [0, n), like math/rand/v2.IntN; a nil
// rnd uses math/rand/v2.IntN. Results outside [0, n) are wrapped into it.
func (r Range) Pick(rnd func(n int) int) string {
	if rnd == nil {
		rnd = rand.IntN
	}
	n := r.Len()
	i := rnd(n) % n
	if i < 0 {
		i += n
	}
	return r.addr(r.Min + i)
}

// String is "host:port" or "host:min-max", the form Parse accepts.
func (r Range) String() string {
	if r.Min == r.Max {
		return r.addr(r.Min)
	}
	return net.JoinHostPort(r.Host, fmt.Sprintf("%d-%d", r.Min, r.Max))
}
