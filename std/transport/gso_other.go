//go:build !linux

package transport

import "net"

// segmentOOBSize is the room a UDP_SEGMENT control message takes: none
// off Linux, where the kernel does not segment UDP sends.
const segmentOOBSize = 0

func canSegment(*net.UDPConn) bool { return false }

func segmentOOB(oob []byte, _ int) []byte { return oob[:0] }

func refusesSegments(error) bool { return false }
