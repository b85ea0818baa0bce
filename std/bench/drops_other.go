//go:build !linux

package bench

import "net"

func udpDrops(*net.UDPConn) (uint64, bool) { return 0, false }
