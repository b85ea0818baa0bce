package bench

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// udpDrops reads the drop counter of c's socket (the last column of
// /proc/net/udp, found by the socket's inode). c must belong to the
// calling thread's network namespace (every socket of the bench outside
// the kernel TCP baseline does).
func udpDrops(c *net.UDPConn) (uint64, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var st syscall.Stat_t
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil || serr != nil {
		return 0, false
	}
	ino := strconv.FormatUint(st.Ino, 10)
	// The calling thread's namespace: /proc/net follows the main thread,
	// which may have been lent to another namespace.
	for _, table := range []string{"/proc/thread-self/net/udp", "/proc/thread-self/net/udp6"} {
		if n, ok := dropsOfInode(table, ino); ok {
			return n, true
		}
	}
	return 0, false
}

func dropsOfInode(table, ino string) (uint64, bool) {
	f, err := os.Open(table)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(fields) >= 13 && fields[9] == ino {
			n, err := strconv.ParseUint(fields[len(fields)-1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
