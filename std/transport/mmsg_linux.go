package transport

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// mmsgReader reads a UDP socket many packets per recvmmsg(2) straight
// into the caller's buffers, as x/net's ReadBatch does, but with the
// message headers, vectors and socket addresses made once, and each
// sender's address made once and handed out again. x/net packs its
// headers anew on every call and allocates an address per packet: on
// the clean bench that was a tenth of a receiving client's CPU. It is
// not safe for concurrent use (the batchReader holds its lock).
type mmsgReader struct {
	rc    syscall.RawConn
	local net.Addr
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // room for either family
	addrs map[netip.AddrPort]*net.UDPAddr

	// The system call, made once (a closure per call would be allocated):
	// it reads want messages into got, or fails with errno.
	recv      func(fd uintptr) bool
	want, got int
	errno     syscall.Errno
}

// mmsgAddrsMax bounds the senders whose addresses are kept; past it
// they are made afresh.
const mmsgAddrsMax = 4096

// rawReader returns pc's batched reads by recvmmsg, or nil when pc is
// not a UDP socket.
func rawReader(pc net.PacketConn) batchReceiver {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &mmsgReader{rc: rc, local: uc.LocalAddr(), hdrs: make([]unix.Mmsghdr, readBatchSize),
		iovs: make([]unix.Iovec, readBatchSize), names: make([]unix.RawSockaddrInet6, readBatchSize),
		addrs: make(map[netip.AddrPort]*net.UDPAddr)}
	for i := range r.hdrs {
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
	}
	r.recv = r.recvmmsg
	return r
}

// recvmmsg is the system call on fd; false: nothing to read yet.
func (r *mmsgReader) recvmmsg(fd uintptr) bool {
	for {
		got, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.want), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		r.got, r.errno = int(got), errno
		return errno != unix.EAGAIN
	}
}

// ReadBatch reads into ms[i].Buffers[0] (each non-empty), setting N and
// Addr, and returns how many it filled; it waits for the first.
func (r *mmsgReader) ReadBatch(ms []ipv4.Message, _ int) (int, error) {
	n := min(len(ms), len(r.hdrs))
	for i := range n {
		b := ms[i].Buffers[0]
		r.iovs[i].Base = &b[0]
		r.iovs[i].SetLen(len(b))
		r.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		r.hdrs[i].Hdr.Flags = 0
	}
	r.want = n
	err := r.rc.Read(r.recv)
	if err == nil && r.errno != 0 {
		err = r.errno
	}
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: r.local.Network(), Addr: r.local, Err: err}
	}
	for i := range r.got {
		ms[i].N = int(r.hdrs[i].Len)
		ms[i].Addr = r.addr(&r.names[i])
	}
	return r.got, nil
}

// addr returns the sender in name as a *net.UDPAddr, the same one for
// the same sender (nil for a family other than IPv4 and IPv6).
func (r *mmsgReader) addr(name *unix.RawSockaddrInet6) net.Addr {
	var ap netip.AddrPort
	zone := ""
	switch name.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
	case unix.AF_INET6:
		a := netip.AddrFrom16(name.Addr)
		if name.Scope_id != 0 {
			zone = strconv.FormatUint(uint64(name.Scope_id), 10)
			a = a.WithZone(zone)
		}
		ap = netip.AddrPortFrom(a, ntohs(name.Port))
	default:
		return nil
	}
	if ua, ok := r.addrs[ap]; ok {
		return ua
	}
	ua := &net.UDPAddr{IP: ap.Addr().AsSlice(), Port: int(ap.Port()), Zone: zone}
	if len(r.addrs) >= mmsgAddrsMax {
		clear(r.addrs)
	}
	r.addrs[ap] = ua
	return ua
}

// ntohs turns a port as the kernel stores it (network order) into a
// number.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
