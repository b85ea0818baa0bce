package netem

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

func TestRelayEndToEndWithSessionPerClient(t *testing.T) {
	echoAddr, sources := startUDPEcho(t)
	listen, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	const up, down = 5 * time.Millisecond, 10 * time.Millisecond
	r, err := NewRelay(listen, echoAddr, Spec{Delay: up}, Spec{Delay: down}, WithSeed(10))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve() }()
	t.Cleanup(func() {
		r.Close()
		if err := <-served; !errors.Is(err, ErrRelayClosed) {
			t.Errorf("Serve after Close = %v, want ErrRelayClosed", err)
		}
	})

	const probes = 10
	var clients []*net.UDPConn
	for range 2 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		clients = append(clients, c)
	}
	buf := make([]byte, 64)
	var rtts []time.Duration
	for i := range probes {
		for k, c := range clients {
			msg := seqPacket(uint64(100*k+i), 24)
			start := time.Now()
			if _, err := c.WriteTo(msg, r.Addr()); err != nil {
				t.Fatal(err)
			}
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("client %d probe %d: %v", k, i, err)
			}
			rtt := time.Since(start)
			if !bytes.Equal(buf[:n], msg) || from.String() != r.Addr().String() {
				t.Fatalf("client %d got %x from %v, want its probe back from the relay %v", k, buf[:n], from, r.Addr())
			}
			if rtt < up+down {
				t.Errorf("round trip through the relay %v, shorter than the %v of delay", rtt, up+down)
			}
			rtts = append(rtts, rtt)
		}
	}
	if med := quantile(durationsSorted(rtts), 0.5); med > up+down+10*time.Millisecond {
		t.Errorf("median round trip through the relay %v, want just over %v", med, up+down)
	}

	if n := r.Sessions(); n != 2 {
		t.Errorf("Sessions() = %d, want one per client", n)
	}
	seen := map[string]bool{}
	for range 2 * probes {
		seen[(<-sources).String()] = true
	}
	if len(seen) != 2 {
		t.Errorf("upstream saw sources %v, want two (one socket per client)", seen)
	}
	for _, c := range clients {
		if seen[c.LocalAddr().String()] {
			t.Errorf("upstream saw the client's own address %v, not the relay's", c.LocalAddr())
		}
	}
	st := r.Stats()
	if st.Up.Delivered != 2*probes || st.Down.Delivered != 2*probes || st.Up.Lateness.Count != 2*probes {
		t.Errorf("relay stats up %v / down %v: want %d each way", st.Up, st.Down, 2*probes)
	}
}

func TestRelayRejectsBadSpec(t *testing.T) {
	listen, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close()
	if _, err := NewRelay(listen, listen.LocalAddr().(*net.UDPAddr), Spec{}, Spec{Jitter: -1}); !errors.Is(err, ErrSpec) {
		t.Errorf("NewRelay with negative jitter = %v, want ErrSpec", err)
	}
}
