package transport

import (
	"encoding/binary"
	"errors"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// segmentOOBSize is the room a UDP_SEGMENT control message takes.
var segmentOOBSize = unix.CmsgSpace(2)

// canSegment reports whether the kernel segments UDP datagrams for pc
// (UDP_SEGMENT, Linux 4.18 and later): one send of a run of equal-size
// packets then crosses the network stack once, not once per packet.
func canSegment(pc *net.UDPConn) bool {
	rc, err := pc.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// segmentOOB writes into oob (segmentOOBSize bytes) the control message
// that has the kernel cut a send into datagrams of size bytes, and
// returns it.
func segmentOOB(oob []byte, size int) []byte {
	oob = oob[:segmentOOBSize]
	clear(oob)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
	return oob
}

// refusesSegments reports whether err is how a kernel or device refuses
// a segmented send it cannot do (no checksum offload: EIO; a segment
// larger than the path's MTU: EINVAL); the packets then go one by one.
func refusesSegments(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)
}
