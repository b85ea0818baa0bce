package tunnel

import (
	"errors"
	"flag"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/netem"
)

var deadPeerFull = flag.Bool("deadpeer.full", false,
	"dead-peer tests: the default --keepalive of 10 s (about a minute) instead of 1 s")

// recoverWithin is how soon after the server's return (or the NAT
// rebinding) new local connections must work again.
const recoverWithin = 5 * time.Second

// deadPeerKeepalive is the --keepalive of both ends in these tests.
func deadPeerKeepalive() int {
	if *deadPeerFull {
		return config.DefaultClient().KeepAlive
	}
	return 1
}

// restartable is an in-process server that can be killed (its socket
// closed first, so that nothing more is sent, as after SIGKILL) and
// started again on the same UDP address.
type restartable struct {
	t      *testing.T
	addr   string
	cfg    config.Server
	log    *slog.Logger
	srv    *Server
	pc     net.PacketConn
	served chan error
}

func (r *restartable) start() {
	r.t.Helper()
	pc, err := net.ListenPacket("udp", r.addr)
	if err != nil {
		r.t.Fatalf("server on %s: %v", r.addr, err)
	}
	srv, err := NewServer(&r.cfg, r.log)
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv, r.pc, r.served = srv, pc, make(chan error, 1)
	go func() { r.served <- srv.ServeAll([]net.PacketConn{pc}) }()
}

func (r *restartable) kill() {
	if r.srv == nil {
		return
	}
	r.pc.Close()
	r.srv.Close()
	<-r.served
	r.srv = nil
}

// startRestartable starts a server for target on a free UDP port of
// 127.0.0.1 (or, with start false, only picks the port).
func startRestartable(t *testing.T, target string, log *slog.Logger, start bool) *restartable {
	pc := listenUDP(t)
	r := &restartable{t: t, addr: pc.LocalAddr().String(), cfg: config.DefaultServer(), log: log}
	pc.Close()
	testCommon(&r.cfg.Common)
	r.cfg.KeepAlive, r.cfg.Target = deadPeerKeepalive(), target
	if start {
		r.start()
	}
	t.Cleanup(r.kill)
	return r
}

func deadPeerClient(remote string) config.Client {
	c := config.DefaultClient()
	testCommon(&c.Common)
	c.KeepAlive, c.RemoteAddr = deadPeerKeepalive(), remote
	c.Conn = 1 // the stream in flight shares the session the new connections probe
	return c
}

// openInFlight opens a stream and leaves it waiting in the middle of its
// request (the target answers only at EOF).
func openInFlight(t *testing.T, local string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", local)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sendRequestHeader(t, c, 1, 1000)
	if _, err := c.Write(testnet.Pattern(1, 5000)); err != nil {
		t.Fatal(err)
	}
	return c
}

// firstSuccess tries exchanges (each given 2 s) until one works and
// returns when that was; it fails the test after limit.
func firstSuccess(t *testing.T, local string, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for seed := uint32(100); time.Now().Before(deadline); seed++ {
		c, err := net.Dial("tcp", local)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		last = testnet.Exchange(c, seed, 1000, 1000)
		c.Close()
		if last == nil {
			return time.Now()
		}
	}
	t.Fatalf("no exchange worked within %v: %v", limit, last)
	return time.Time{}
}

// endsWithin waits until the local connection c is closed by the
// tunnel, failing the test after d; it returns how long that took.
func endsWithin(t *testing.T, c net.Conn, since time.Time, d time.Duration) time.Duration {
	t.Helper()
	c.SetReadDeadline(since.Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if isNetTimeout(err) {
			t.Fatalf("the stream in flight is still open %v after the fault", d)
		}
		return time.Since(since)
	}
}

// The dead-peer scenarios run at once (t.Run from several goroutines,
// not limited by -parallel): each mostly waits.
func TestDeadPeer(t *testing.T) {
	testnet.CheckLeaks(t) // after all three
	var wg sync.WaitGroup
	for name, fn := range map[string]func(*testing.T){
		"server-restart":       serverRestartNoticed,
		"client-before-server": clientBeforeServer,
		"nat-rebinding":        natRebindingNoticed,
		"idle-but-alive":       idleSessionKept,
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, fn)
		}()
	}
	wg.Wait()
}

// A live server whose stream sits idle longer than the silence limit
// (its NOPs keep coming) keeps its session: the stream completes. (New
// connections meanwhile may go to a second session when the idle stream
// left data unanswered between two NOPs; nothing is closed for that.)
func idleSessionKept(t *testing.T) {
	log, lb := captureLog(t, slog.LevelInfo)
	srv := startRestartable(t, targetAddr(t), log, true)
	local := startExtraClient(t, deadPeerClient(srv.addr), log)
	idle := openInFlight(t, local) // sent part of its request: waits for nothing
	waitServerStreams(t, srv.srv, 1)
	limit := silenceLimit(time.Duration(deadPeerKeepalive()) * time.Second)
	time.Sleep(limit + 2*livenessEvery) // the application is idle this long
	firstSuccess(t, local, time.Second)
	if _, err := idle.Write(testnet.Pattern(1, 10_000)[5000:]); err != nil {
		t.Fatal(err)
	}
	idle.(*net.TCPConn).CloseWrite()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := testnet.ReadAllCompare(idle, testnet.Pattern(2, 1000)); err != nil {
		t.Fatalf("the idle stream after %v: %v", limit, err)
	}
	if l := lb.lines("session closed"); len(l) > 0 {
		t.Fatalf("a live session was closed:\n%s", lb)
	}
}

// The server dies (nothing more is sent) and comes back at once on the
// same port: the client's stream in flight is closed with a warning well
// before smux's 30 s, and new local connections work within
// recoverWithin of the server's return, without restarting the client.
func serverRestartNoticed(t *testing.T) {
	log, lb := captureLog(t, slog.LevelInfo)
	srv := startRestartable(t, targetAddr(t), log, true)
	local := startExtraClient(t, deadPeerClient(srv.addr), log)
	firstSuccess(t, local, 10*time.Second)
	inflight := openInFlight(t, local)
	waitServerStreams(t, srv.srv, 1)

	killed := time.Now()
	srv.kill()
	srv.start()
	back := time.Now()
	ok := firstSuccess(t, local, recoverWithin)
	took := endsWithin(t, inflight, killed, silenceLimit(time.Duration(deadPeerKeepalive())*time.Second)+3*time.Second)
	t.Logf("keepalive %ds: new connections worked %v after the server's return; the stream in flight was closed %v after its death",
		deadPeerKeepalive(), ok.Sub(back).Round(time.Millisecond), took.Round(time.Millisecond))
	if _, found := lb.waitLine(time.Second, "closing a session", reasonSilent); !found {
		t.Errorf("no warning about the silent server:\n%s", lb)
	}
}

// A client started before its server: the first connection fails
// cleanly (closed, with a warning) rather than hanging, and connections
// work within recoverWithin of the server's start.
func clientBeforeServer(t *testing.T) {
	log, lb := captureLog(t, slog.LevelWarn)
	srv := startRestartable(t, targetAddr(t), log, false)
	local := startExtraClient(t, deadPeerClient(srv.addr), log)
	early := openInFlight(t, local)
	start := time.Now()
	took := endsWithin(t, early, start, silenceLimit(time.Duration(deadPeerKeepalive())*time.Second)+3*time.Second)
	if _, found := lb.waitLine(time.Second, reasonSilent); !found {
		t.Errorf("no warning about the missing server:\n%s", lb)
	}
	srv.start()
	back := time.Now()
	ok := firstSuccess(t, local, recoverWithin)
	t.Logf("keepalive %ds: the early connection was closed after %v; connections worked %v after the server started",
		deadPeerKeepalive(), took.Round(time.Millisecond), ok.Sub(back).Round(time.Millisecond))
}

// The client's source address changes mid-session (a relay standing in
// for a NAT is restarted, so the server sees new source ports): the
// client notices well before smux's 30 s, new connections work within
// recoverWithin, and the server drops the stale session it made for the
// new address.
func natRebindingNoticed(t *testing.T) {
	log, lb := captureLog(t, slog.LevelInfo)
	srv := startRestartable(t, targetAddr(t), log, true)
	relayAddr := listenUDP(t)
	addr := relayAddr.LocalAddr().String()
	relayAddr.Close()
	up, err := net.ResolveUDPAddr("udp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	stopRelay := startRelay(t, addr, up)
	local := startExtraClient(t, deadPeerClient(addr), log)
	firstSuccess(t, local, 10*time.Second)
	inflight := openInFlight(t, local)
	waitServerStreams(t, srv.srv, 1)

	stopRelay()
	startRelay(t, addr, up) // same address for the client, new source ports towards the server
	rebound := time.Now()
	ok := firstSuccess(t, local, recoverWithin)
	took := endsWithin(t, inflight, rebound, silenceLimit(time.Duration(deadPeerKeepalive())*time.Second)+3*time.Second)
	t.Logf("keepalive %ds: new connections worked %v after the rebinding; the stream in flight was closed %v after it",
		deadPeerKeepalive(), ok.Sub(rebound).Round(time.Millisecond), took.Round(time.Millisecond))
	if _, found := lb.waitLine(time.Second, "closing a session", reasonSilent); !found {
		t.Errorf("no warning about the silent session:\n%s", lb)
	}
	if _, found := lb.waitLine(staleAfter+3*time.Second, "session closed", "stale"); !found {
		t.Errorf("the server did not drop the stale session:\n%s", lb)
	}
}

// startRelay runs a clean netem relay on addr towards up until the
// returned func (or the test's end) stops it.
func startRelay(t *testing.T, addr string, up *net.UDPAddr) (stop func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("relay on %s: %v", addr, err)
	}
	r, err := netem.NewRelay(pc, up, netem.Spec{}, netem.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		r.Close()
		if err := <-served; !errors.Is(err, netem.ErrRelayClosed) {
			t.Errorf("relay: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// targetAddr serves a verifying target until the test ends.
func targetAddr(t *testing.T) string {
	ln := listenTCP(t)
	testnet.ServeTarget(t, ln)
	return ln.Addr().String()
}

// waitServerStreams waits until srv has n streams open.
func waitServerStreams(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		total := 0
		for _, s := range srv.SessionInfos() {
			total += s.Streams
		}
		if total >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server has %d streams open, want %d", total, n)
		}
		time.Sleep(5 * time.Millisecond) // polling the server, not synchronising
	}
}
