package tunnel

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xtaci/smux"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
	"github.com/kcptun-go/tunnel/std/transport"
)

// countingDialer counts session dials; the first one can be held until
// release is closed.
type countingDialer struct {
	n       atomic.Int32
	hold    bool
	entered chan struct{}
	release chan struct{}
}

func (d *countingDialer) dial(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error) {
	if d.n.Add(1) == 1 && d.hold {
		close(d.entered)
		select {
		case <-d.release:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return transport.DialUDP(ctx, raddr)
}

// While one local connection waits for its KCP session to be made, the
// client keeps accepting and serving others.
func TestAcceptNeverBlocksOnSessionSetup(t *testing.T) {
	d := &countingDialer{hold: true, entered: make(chan struct{}), release: make(chan struct{})}
	p := startPair(t, pairSetup{
		client:     func(c *config.Client) { c.Conn = 2 },
		clientOpts: []ClientOption{WithPacketDialer(d.dial)},
	})
	slow := p.dial(t)
	slowDone := make(chan error, 1)
	go func() { slowDone <- testnet.Exchange(slow, 1, 1000, 1000) }()
	<-d.entered // the first connection is now stuck making its session

	fast := p.dial(t)
	if err := testnet.Exchange(fast, 2, 1000, 1000); err != nil {
		t.Fatalf("second connection while the first waits for its session: %v", err)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("first connection finished before its session existed: %v", err)
	default:
	}
	close(d.release)
	if err := <-slowDone; err != nil {
		t.Fatalf("first connection after its session was made: %v", err)
	}
}

// A session older than --autoexpire takes no new streams: the next
// connection gets a new session.
func TestAutoExpireMakesNewSession(t *testing.T) {
	d := &countingDialer{}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	log, logs := captureLog(t, slog.LevelInfo)
	p := startPair(t, pairSetup{
		client:     func(c *config.Client) { c.AutoExpire = 60 },
		clientOpts: []ClientOption{WithPacketDialer(d.dial), withClock(clock)},
		log:        log,
	})

	p.exchange(t, 2, 100, 100)
	if n := d.n.Load(); n != 1 {
		t.Fatalf("%d sessions made for two connections within autoexpire, want 1", n)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	p.exchange(t, 1, 100, 100)
	if n := d.n.Load(); n != 2 {
		t.Fatalf("%d sessions made after the first expired, want 2", n)
	}
	if len(logs.lines(`msg="session expired"`, "remote=")) != 1 {
		t.Errorf("want one session expired line, log:\n%s", logs.String())
	}
}

// smuxPair returns a client session and the server session on a pipe.
func smuxPair(t *testing.T) (*smux.Session, *smux.Session) {
	t.Helper()
	a, b := net.Pipe()
	cs, err := smux.Client(a, smux.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ss, err := smux.Server(b, smux.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Close() })
	return cs, ss
}

// The scavenger closes a retired session once it is idle or its
// scavengettl has passed, and keeps a busy one until then.
func TestScavengerSweep(t *testing.T) {
	testnet.CheckLeaks(t)
	now := time.Now()
	idle, _ := smuxPair(t)
	busy, busyPeer := smuxPair(t)
	late, latePeer := smuxPair(t)
	for _, s := range []*smux.Session{busy, late} {
		if _, err := s.OpenStream(); err != nil {
			t.Fatal(err)
		}
	}
	go busyPeer.AcceptStream()
	go latePeer.AcceptStream()

	done := make(chan struct{})
	var logs bytes.Buffer
	sc := newScavenger(slog.New(slog.NewTextHandler(&logs, nil)), done, new(sessionTable).closeWith)
	list := []retired{
		{idle, now.Add(time.Hour)},
		{busy, now.Add(time.Hour)},
		{late, now.Add(-time.Second)},
	}
	kept := sc.sweep(list, now)
	if !idle.IsClosed() {
		t.Error("idle retired session was not closed")
	}
	if !late.IsClosed() {
		t.Error("retired session past its scavengettl was not closed")
	}
	if busy.IsClosed() || len(kept) != 1 || kept[0].sess != busy {
		t.Errorf("busy session within its scavengettl: closed=%v, kept %d", busy.IsClosed(), len(kept))
	}
	if !strings.Contains(logs.String(), "raise --scavengettl") || !strings.Contains(logs.String(), "streams=1") {
		t.Errorf("cutting a stream at the scavengettl was not warned about; log:\n%s", logs.String())
	}
	close(done)
}

// With --conn 2, connections opened while one session carries a download
// go to the other session, not round robin onto the download's (where
// they would wait behind its queue and its lost packets).
func TestConnectionsAvoidTheBusySession(t *testing.T) {
	p := startPair(t, pairSetup{
		client: func(c *config.Client) { c.Conn = 2 },
		both:   func(c *config.Common) { c.NoComp = true },
	})
	// The download: more than is read before the other connections open.
	const downloadSize = 32 << 20
	dl := p.dial(t)
	var h [8]byte
	binary.BigEndian.PutUint32(h[:4], 7)
	binary.BigEndian.PutUint32(h[4:], downloadSize)
	if _, err := dl.Write(h[:]); err != nil {
		t.Fatal(err)
	}
	if err := dl.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, dl, 4<<20); err != nil {
		t.Fatalf("download: %v", err)
	}
	stop := make(chan struct{})
	reading := make(chan struct{})
	go func() { // keep the download moving while the others run
		defer close(reading)
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := dl.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); dl.Close(); <-reading }()

	const first, second = 100 << 10, 300 << 10
	for i, size := range []int{first, second} {
		c := p.dial(t)
		if err := testnet.Exchange(c, uint32(10+i), size, 1000); err != nil {
			t.Fatalf("exchange %d during the download: %v", i, err)
		}
		c.Close()
	}
	infos := p.client.SessionInfos()
	if len(infos) != 2 {
		t.Fatalf("%d sessions, want 2", len(infos))
	}
	other := infos[0]
	if infos[1].BytesIn < other.BytesIn {
		other = infos[1]
	}
	if other.BytesOut < first+second {
		t.Errorf("the session without the download sent %d bytes, want both requests' %d: a request went to the busy session",
			other.BytesOut, first+second)
	}
}
