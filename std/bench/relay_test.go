package bench

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/netem"
)

// udpEcho answers every datagram on 127.0.0.1:0 until the test ends.
func udpEcho(t *testing.T) *net.UDPAddr {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetReadBuffer(relayBuffer); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr)
}

func TestRelayCarriesBurstsWithoutHostDrops(t *testing.T) {
	testnet.CheckLeaks(t)
	spec := netem.Spec{Delay: 5 * time.Millisecond}
	r, err := newRelay(udpEcho(t), spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	go r.serve()
	t.Cleanup(r.close)

	c, err := net.DialUDP("udp", nil, r.addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetReadBuffer(relayBuffer); err != nil {
		t.Fatal(err)
	}
	// A burst of 600 full-size datagrams at once, as a tunnel flushing its
	// window sends: the relay must pass every one through both links.
	const burst = 600
	msg := make([]byte, 1350)
	for i := range burst {
		msg[0], msg[1] = byte(i), byte(i>>8)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for got := 0; got < burst; got++ {
		if _, err := c.Read(buf); err != nil {
			st := r.stats()
			drops, _ := r.hostDrops()
			t.Fatalf("after %d of %d echoes: %v (up %v, down %v, host drops %d)", got, burst, err, st.Up, st.Down, drops)
		}
	}
	st := r.stats()
	if st.Up.Delivered != burst || st.Down.Delivered != burst {
		t.Errorf("links delivered %d up, %d down; want %d each", st.Up.Delivered, st.Down.Delivered, burst)
	}
	if drops, ok := r.hostDrops(); !ok && fileExists("/proc/net/udp") {
		t.Error("host drops unknown on a machine with /proc/net/udp")
	} else if drops != 0 {
		t.Errorf("host dropped %d datagrams", drops)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
