package tunnel

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// pair is a client and a server in process, on 127.0.0.1 ports chosen by
// the kernel, in front of a verifying target.
type pair struct {
	client *Client
	server *Server
	local  string // where the client listens
	target *testnet.Target
}

type pairSetup struct {
	client     func(*config.Client)
	server     func(*config.Server)
	both       func(*config.Common)
	serverPCs  []net.PacketConn // default: one UDP socket on 127.0.0.1:0
	clientOpts []ClientOption
	localLn    net.Listener // default: TCP 127.0.0.1:0
	targetLn   net.Listener // default: TCP 127.0.0.1:0
	log        *slog.Logger // default: warnings to the test output
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func listenTCP(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func listenUDP(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// testCommon makes the shared settings of a test pair: defaults with a
// test key and fast3, which keeps the tests quick.
func testCommon(c *config.Common) {
	c.Key = "pair-test-key"
	c.Mode = "fast3"
	c.NoDelay, c.Interval, c.Resend, c.NoCongestion = 1, 10, 2, 1
}

func startPair(t *testing.T, ps pairSetup) *pair {
	t.Helper()
	testnet.CheckLeaks(t)
	log := ps.log
	if log == nil {
		log = testLogger(t)
	}

	scfg := config.DefaultServer()
	ccfg := config.DefaultClient()
	testCommon(&scfg.Common)
	testCommon(&ccfg.Common)
	if ps.both != nil {
		ps.both(&scfg.Common)
		ps.both(&ccfg.Common)
	}
	if ps.server != nil {
		ps.server(&scfg)
	}
	ccfg.Conn = 1 // one session, unless the test asks for more (pick_test.go tests their use)
	if ps.client != nil {
		ps.client(&ccfg)
	}

	if ps.targetLn == nil {
		ps.targetLn = listenTCP(t)
	}
	target := testnet.ServeTarget(t, ps.targetLn)
	if scfg.Target == config.DefaultServer().Target {
		scfg.Target = ps.targetLn.Addr().String()
	}
	if ps.serverPCs == nil {
		ps.serverPCs = []net.PacketConn{listenUDP(t)}
	}
	if ccfg.RemoteAddr == config.DefaultClient().RemoteAddr {
		ccfg.RemoteAddr = ps.serverPCs[0].LocalAddr().String()
	}
	srv, err := NewServer(&scfg, log)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := NewClient(&ccfg, log, ps.clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	if ps.localLn == nil {
		ps.localLn = listenTCP(t)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.ServeAll(ps.serverPCs); !errors.Is(err, ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := cli.Serve(ps.localLn); !errors.Is(err, ErrServerClosed) {
			t.Errorf("client: %v", err)
		}
	}()
	t.Cleanup(func() {
		cli.Close()
		srv.Close()
		wg.Wait()
	})
	return &pair{client: cli, server: srv, local: ps.localLn.Addr().String(), target: target}
}

func (p *pair) dial(t testing.TB) net.Conn {
	t.Helper()
	network := "tcp"
	if _, _, err := net.SplitHostPort(p.local); err != nil {
		network = "unix"
	}
	c, err := net.Dial(network, p.local)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange runs n request/reply exchanges one after another.
func (p *pair) exchange(t *testing.T, n, reqLen, replyLen int) {
	t.Helper()
	for i := 0; i < n; i++ {
		c := p.dial(t)
		if err := testnet.Exchange(c, uint32(i+1), reqLen, replyLen); err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		c.Close()
	}
	if _, err := p.target.Result(); err != nil {
		t.Fatalf("target: %v", err)
	}
}

// concurrent runs n exchanges at once.
func (p *pair) concurrent(t *testing.T, n, reqLen, replyLen int) {
	t.Helper()
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		c := p.dial(t)
		go func() { errs <- testnet.Exchange(c, uint32(1000+i), reqLen, replyLen) }()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	ok, err := p.target.Result()
	if err != nil {
		t.Fatalf("target: %v", err)
	}
	if ok < n {
		t.Fatalf("target verified %d requests, want %d", ok, n)
	}
}
