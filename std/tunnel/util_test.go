package tunnel

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

func itoa(i int) string { return strconv.Itoa(i) }

// listenUDPRange binds n consecutive UDP ports on 127.0.0.1, trying random
// bases until one range is wholly free.
func listenUDPRange(t testing.TB, n int) (pcs []net.PacketConn, lo, hi int) {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(40000)
		pcs = pcs[:0]
		ok := true
		for p := base; p < base+n; p++ {
			pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			pcs = append(pcs, pc)
		}
		if ok {
			return pcs, base, base + n - 1
		}
		for _, pc := range pcs {
			pc.Close()
		}
	}
	t.Fatal("no free range of UDP ports found")
	return nil, 0, 0
}
