package faketcptest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/kcptun-go/tunnel/std/internal/netns"
)

// capture is tcpdump recording the headers of every packet on one
// interface.
type capture struct {
	p    *proc
	file string
}

func startCapture(t *testing.T, ns *netns.NS, dev string) *capture {
	t.Helper()
	c := &capture{file: filepath.Join(t.TempDir(), "link.pcap")}
	// -Z root: keep the rights to write into the test's directory.
	c.p = start(t, "tcpdump", ns.Command("tcpdump", "-i", dev, "-n", "-s", "96", "-B", "32768", "-Z", "root", "-w", c.file))
	c.p.waitOutput(t, "listening on", 1, 10*time.Second)
	return c
}

// counts is how many packets of each kind a capture saw.
type counts struct{ udp, tcp, other int }

// stop ends the capture and counts the packets it recorded.
func (c *capture) stop(t *testing.T) counts {
	t.Helper()
	if code := c.p.stop(t, syscall.SIGINT, 20*time.Second); code != 0 {
		t.Fatalf("tcpdump exited with %d:\n%s", code, c.p.output())
	}
	t.Logf("tcpdump: %s", strings.Join(strings.Fields(c.p.output()), " "))
	f, err := os.Open(c.file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	var n counts
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("read capture after %+v: %v", n, err)
		}
		switch ipProtocol(gopacket.NewPacket(data, r.LinkType(), gopacket.DecodeOptions{Lazy: true, NoCopy: true})) {
		case layers.IPProtocolUDP:
			n.udp++
		case layers.IPProtocolTCP:
			n.tcp++
		default:
			n.other++
		}
	}
}

// ipProtocol is the protocol an IP packet carries, by its IP header (so a
// fragment or a truncated header still counts).
func ipProtocol(pkt gopacket.Packet) layers.IPProtocol {
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		return ip.Protocol
	case *layers.IPv6:
		return ip.NextHeader
	}
	return layers.IPProtocolNoNextHeader
}
