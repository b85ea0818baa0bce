package tunnel

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// The server's --listen HOST:MIN-MAX opens every port of the range
// (wire.md §10): a client pinned to each single port gets its stream
// through.
func TestServerListensOnEveryPortOfItsRange(t *testing.T) {
	testnet.CheckLeaks(t)
	pcs, lo, hi := listenUDPRange(t, 3)
	for _, pc := range pcs { // free the range for the server to bind
		pc.Close()
	}
	targetLn := listenTCP(t)
	target := testnet.ServeTarget(t, targetLn)

	scfg := config.DefaultServer()
	testCommon(&scfg.Common)
	scfg.Listen = "127.0.0.1:" + itoa(lo) + "-" + itoa(hi)
	scfg.Target = targetLn.Addr().String()
	srv, err := NewServer(&scfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
	})

	for port := lo; port <= hi; port++ {
		ccfg := config.DefaultClient()
		testCommon(&ccfg.Common)
		ccfg.RemoteAddr = "127.0.0.1:" + itoa(port)
		cli, err := NewClient(&ccfg, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		ln := listenTCP(t)
		done := make(chan error, 1)
		go func() { done <- cli.Serve(ln) }()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// KCP retransmits until the server has bound the port: no waiting
		// here. The deadline only bounds a port nobody serves.
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if err := testnet.Exchange(c, uint32(port), 5000, 20_000); err != nil {
			t.Errorf("port %d of the range: %v", port, err)
		}
		c.Close()
		cli.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("client: %v", err)
		}
	}
	if ok, err := target.Result(); ok != hi-lo+1 || err != nil {
		t.Fatalf("target verified %d requests (err %v), want one per port: %d", ok, err, hi-lo+1)
	}
}
