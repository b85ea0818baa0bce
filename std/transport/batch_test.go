package transport

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// A SealConn on a UDP socket reads several packets per system call and
// still hands kcp-go each packet whole, in order, with its sender, and
// a packet longer than kcp-go's buffer cut to it (as a socket read does).
func TestBatchReaderHandsOutEachPacketInOrder(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			host := "127.0.0.1:0"
			if network == "udp6" {
				host = "[::1]:0"
			}
			rx, err := net.ListenPacket(network, host)
			if err != nil {
				t.Skipf("no %s loopback here: %v", network, err)
			}
			defer rx.Close()
			r := newBatchReader(rx)
			if r == nil {
				t.Fatal("no batch reader on a UDP socket")
			}
			var senders []net.PacketConn
			for range 2 {
				tx, err := net.ListenPacket(network, host)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Close()
				senders = append(senders, tx)
			}
			const packets = 2*readBatchSize + 5 // more than one batch; small, so the socket buffer holds them all
			for i := range packets {
				pkt := bytes.Repeat([]byte{byte(i)}, 1+i%60)
				if _, err := senders[i%2].WriteTo(pkt, rx.LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			rx.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 40)
			for i := range packets {
				n, addr, err := r.ReadFrom(buf)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				want := bytes.Repeat([]byte{byte(i)}, min(1+i%60, len(buf)))
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("packet %d: %d bytes starting %v, want %d bytes of %d", i, n, buf[:min(n, 4)], len(want), byte(i))
				}
				if got, want := addr.String(), senders[i%2].LocalAddr().String(); got != want {
					t.Fatalf("packet %d from %s, want %s", i, got, want)
				}
			}
		})
	}
}

// A SealConn on anything but a UDP socket reads a packet per call.
func TestNoBatchReaderOffUDP(t *testing.T) {
	if r := newBatchReader(&recordConn{in: make(chan []byte)}); r != nil {
		t.Fatal("batch reader on a conn that is not a UDP socket")
	}
}
