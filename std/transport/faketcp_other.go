//go:build !linux

package transport

import (
	"context"
	"net"
)

// NewFakeTCP fails: fake TCP needs Linux (raw sockets and iptables).
func NewFakeTCP() (*FakeTCP, error) {
	return nil, ErrFakeTCPUnsupported
}

// Dial fails: fake TCP needs Linux.
func (f *FakeTCP) Dial(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error) {
	return nil, nil, ErrFakeTCPUnsupported
}

// Listen fails: fake TCP needs Linux.
func (f *FakeTCP) Listen(addr string) (net.PacketConn, error) {
	return nil, ErrFakeTCPUnsupported
}
