package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/crypt"
)

func commonFor(t *testing.T, mode, cipher string) *config.Common {
	t.Helper()
	c := config.DefaultClient().Common
	c.Mode, c.Crypt, c.Key = mode, cipher, "seal-test-key"
	c.ApplyModePreset()
	return &c
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// echoOnce accepts one session on l and echoes what it reads.
func echoOnce(t *testing.T, l *kcp.Listener, c *config.Common) {
	t.Helper()
	var wg sync.WaitGroup
	accepted := make(chan *kcp.UDPSession, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s, err := l.AcceptKCP()
		if err != nil {
			return
		}
		accepted <- s
		TuneSession(s, c)
		io.Copy(s, s)
	}()
	t.Cleanup(func() {
		l.Close()
		select {
		case s := <-accepted:
			s.Close()
		default:
		}
		wg.Wait()
	})
}

// TestSealConnInteroperatesWithKcpGoCipher runs a session between an end
// on a SealConn (--mode auto) and an end where kcp-go seals the packets
// itself (--sendctl off, what kcptun does), both ways round, for each kind
// of cipher a SealConn takes: the bytes on the wire must be the same.
func TestSealConnInteroperatesWithKcpGoCipher(t *testing.T) {
	for _, cipher := range []string{"aes", "salsa20", "none", "null"} {
		for _, sealedClient := range []bool{true, false} {
			name := cipher + "/sealed-server"
			if sealedClient {
				name = cipher + "/sealed-client"
			}
			t.Run(name, func(t *testing.T) {
				cc, sc := commonFor(t, "fast3", cipher), commonFor(t, config.ModeAuto, cipher)
				cc.SendCtl = config.SendCtlOff
				if sealedClient {
					cc, sc = sc, cc
				}
				block, err := crypt.New(cipher, cc.Key)
				if err != nil {
					t.Fatal(err)
				}
				// The end kcp-go seals uses kcp-go's own AES, not ours
				// (aescfb), as kcptun does.
				kcpgo := block
				if cipher == "aes" {
					if kcpgo, err = kcp.NewAESBlockCrypt(crypt.DeriveKey(cc.Key)); err != nil {
						t.Fatal(err)
					}
				}
				serverBlock, clientBlock := block, kcpgo
				if sealedClient {
					serverBlock, clientBlock = kcpgo, block
				}
				pc := listenUDP(t)
				l, seal, err := Listen(pc, serverBlock, sc, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				if (seal != nil) != sc.SeesACKs() {
					t.Fatalf("Listen returned SealConn %v, SeesACKs = %v", seal, sc.SeesACKs())
				}
				echoOnce(t, l, sc)
				dial := func(ctx context.Context, raddr string) (net.PacketConn, net.Addr, error) {
					c, err := net.ListenPacket("udp", "127.0.0.1:0")
					return c, pc.LocalAddr(), err
				}
				s, err := Dial(context.Background(), dial, pc.LocalAddr().String(), clientBlock, cc, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if (PeerOf(s) != nil) != cc.SeesACKs() {
					t.Fatalf("PeerOf = %v, SeesACKs = %v", PeerOf(s), cc.SeesACKs())
				}
				want := make([]byte, 256<<10)
				rand.Read(want)
				go s.Write(want)
				got := make([]byte, len(want))
				s.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, err := io.ReadFull(s, got); err != nil {
					t.Fatalf("echo: %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatal("echo differs")
				}
			})
		}
	}
}

// Sessions run on a SealConn under any send control that can read the
// ACKs (FEC on, a cipher other than aes-128-gcm); the rate control runs
// under --sendctl rate only, in --mode auto as in a fixed mode.
func TestSealConnUnderASendControlWithFECAndAClassicCipher(t *testing.T) {
	for _, tc := range []struct {
		mode, sendctl, cipher string
		ps                    int
		seal, rate            bool
	}{
		{config.ModeAuto, config.SendCtlDelay, "aes", 3, true, false},
		{config.ModeAuto, config.SendCtlDelay, "null", 3, true, false},
		{config.ModeAuto, config.SendCtlRate, "aes", 3, true, true},
		{config.ModeAuto, config.SendCtlDelay, "aes-128-gcm", 3, false, false},
		{config.ModeAuto, config.SendCtlDelay, "aes", 0, false, false},
		{"fast3", config.SendCtlDelay, "aes", 3, true, false},
		{"fast3", config.SendCtlDelay, "aes-128-gcm", 3, false, false},
		{"fast3", config.SendCtlDelay, "aes", 0, false, false},
		{"fast3", config.SendCtlRate, "aes", 3, true, true},
		{"fast3", config.SendCtlOff, "aes", 3, false, false},
	} {
		c := commonFor(t, tc.mode, tc.cipher)
		c.ParityShard, c.SendCtl = tc.ps, tc.sendctl
		if seal, rate := c.SeesACKs(), c.RateControl(); seal != tc.seal || rate != tc.rate {
			t.Errorf("mode %s, sendctl %s, crypt %s, ps %d: SeesACKs %v RateControl %v, want %v %v", tc.mode, tc.sendctl, tc.cipher, tc.ps, seal, rate, tc.seal, tc.rate)
		}
	}
}

// Outside --mode auto a SealConn sends every parity shard, whatever the
// loss.
func TestSealConnOutsideAutoSendsEveryParityShard(t *testing.T) {
	c := commonFor(t, "fast3", "null")
	c.SendCtl = config.SendCtlRate
	rc := &recordConn{in: make(chan []byte, 8)}
	s := NewSealConn(rc, nil, c)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	for sn := uint32(0); sn < 3000; sn++ { // a clean link: auto would drop every shard
		s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, 10)), to)
		clock = clock.Add(time.Millisecond)
	}
	before := rc.sent(s)
	for i := uint32(3013); i < 3016; i++ { // group 231's parity shards (seqids 13×231 + 10…12)
		s.WriteTo(fecPacket(i, fecTypeParity), to)
	}
	if n := rc.sent(s) - before; n != 3 {
		t.Fatalf("sent %d of 3 parity shards under fast3; want all", n)
	}
	if st := s.Peer(to).State(); st.Shards != 3 {
		t.Errorf("State().Shards = %d, want 3 (what is sent)", st.Shards)
	}
}

// Under auto a peer starts with no parity: one sent ACKs alone (the
// client of a download) never sends any, as nothing moves its count.
func TestSealConnUnderAutoStartsWithNoParity(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	for i := uint32(0); i < 13; i++ { // group 0 of 10/3
		p := fecPacket(i, fecTypeParity)
		if i < 10 {
			p = fecPacket(i, fecTypeData, ackSeg(0, 100+i, 0))
		}
		s.WriteTo(p, to)
	}
	if n := rc.sent(s); n != 10 {
		t.Fatalf("wrote %d packets, want the 10 of ACKs and no parity shard", n)
	}
}

// recordConn is a PacketConn that keeps what is written to it and reads
// from a channel.
type recordConn struct {
	net.PacketConn
	mu      sync.Mutex
	written [][]byte
	when    []time.Time // when each was written
	to      []net.Addr  // and to where
	in      chan []byte
	from    *net.UDPAddr  // where the packets read come from (nil: the zero address)
	notify  chan net.Addr // if set, told of each write
}

func (r *recordConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.written = append(r.written, bytes.Clone(p))
	r.when = append(r.when, time.Now())
	r.to = append(r.to, addr)
	if r.notify != nil {
		r.notify <- addr
	}
	return len(p), nil
}

// sent returns how many packets s has written to r, once s's writer has
// sent all it queued and held.
func (r *recordConn) sent(s *SealConn) int {
	s.out.drain()
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.written)
}

func (r *recordConn) ReadFrom(p []byte) (int, net.Addr, error) {
	b, ok := <-r.in
	if !ok {
		return 0, nil, io.EOF
	}
	from := r.from
	if from == nil {
		from = &net.UDPAddr{}
	}
	return copy(p, b), from, nil
}

func newRecordSeal(t *testing.T, cipher string) (*SealConn, *recordConn, kcp.BlockCrypt) {
	t.Helper()
	c := commonFor(t, config.ModeAuto, cipher)
	block, err := crypt.New(cipher, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	rc := &recordConn{in: make(chan []byte, 8)}
	return NewSealConn(rc, block, c), rc, block
}

// fecPacket builds a plaintext packet as kcp-go hands it to its socket.
func fecPacket(seqid uint32, typ uint16, segs ...[]byte) []byte {
	p := binary.LittleEndian.AppendUint32(nil, seqid)
	p = binary.LittleEndian.AppendUint16(p, typ)
	body := bytes.Join(segs, nil)
	p = binary.LittleEndian.AppendUint16(p, uint16(2+len(body)))
	return append(p, body...)
}

// bulkData is the data of a segment of a download: near full, so that
// more than thinFlight of them in the network are not thin.
const bulkData = 1200

func pushSeg(sn uint32, data int) []byte {
	s := make([]byte, kcpSegHeader+data)
	s[4] = kcpCmdPush
	binary.LittleEndian.PutUint32(s[12:], sn)
	binary.LittleEndian.PutUint32(s[20:], uint32(data))
	return s
}

func TestSealConnSendsOnlyTheChosenParityShards(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "aes")
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	// Group 0 of 10/3: seqids 0–9 data, 10–12 parity.
	for i := uint32(0); i < 13; i++ {
		typ := uint16(fecTypeData)
		if i >= 10 {
			typ = fecTypeParity
			s.Peer(to).shards.Store(1) // as the controller would choose
		}
		if n, err := s.WriteTo(fecPacket(i, typ, pushSeg(i, bulkData)), to); err != nil || n == 0 {
			t.Fatalf("WriteTo: %d, %v", n, err)
		}
	}
	// The first thinFlight data packets go twice (a thin session's).
	if rc.sent(s) != 10+thinFlight+1 {
		t.Fatalf("wrote %d packets, want 10 data (%d of them twice) + 1 parity", rc.sent(s), thinFlight)
	}
	s.Peer(to).shards.Store(3)
	s.WriteTo(fecPacket(25, fecTypeParity), to) // group 1, last parity shard
	if rc.sent(s) != 10+thinFlight+2 {
		t.Fatalf("with 3 shards chosen the third parity shard was not sent")
	}
}

func TestSealConnCountsResentSegmentsAsResidualLoss(t *testing.T) {
	s, _, _ := newRecordSeal(t, "null")
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	seq := uint32(0)
	send := func(sns ...uint32) {
		var segs [][]byte
		for _, sn := range sns {
			segs = append(segs, pushSeg(sn, 10))
		}
		s.WriteTo(fecPacket(seq, fecTypeData, segs...), to)
		seq++
	}
	// 1000 new segments, two to a packet, and 100 sent again; a second
	// later one more new segment closes the window.
	for sn := uint32(0); sn < 1000; sn += 2 {
		send(sn, sn+1)
	}
	for sn := uint32(0); sn < 100; sn++ {
		send(sn)
	}
	clock = clock.Add(time.Second)
	send(1000)
	st := s.Peer(to).State()
	if want := 100.0 / 1101; st.Loss < want-1e-9 || st.Loss > want+1e-9 {
		t.Fatalf("residual loss %.4f, want %.4f", st.Loss, want)
	}
	if st.Shards != 0 || st.Max != 3 {
		t.Fatalf("shards %d/%d, want 0/3 (auto starts with none; one window is too soon to add)", st.Shards, st.Max)
	}
}

// A resend the peer's ACK shows unneeded (it echoes the timestamp of the
// first copy: that one arrived, or FEC rebuilt it) is not residual loss;
// one whose ACK echoes the resend's timestamp is.
func TestSealConnDoesNotCountSpuriousResendsAsResidualLoss(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	to := &net.UDPAddr{} // where recordConn's packets come from
	seq := uint32(0)
	send := func(ts uint32, sns ...uint32) {
		var segs [][]byte
		for _, sn := range sns {
			seg := pushSeg(sn, 10)
			binary.LittleEndian.PutUint32(seg[8:], ts)
			segs = append(segs, seg)
		}
		s.WriteTo(fecPacket(seq, fecTypeData, segs...), to)
		seq++
	}
	for sn := uint32(0); sn < 1000; sn += 2 {
		send(100, sn, sn+1)
	}
	for sn := uint32(0); sn < 100; sn++ {
		send(150, sn) // sent again at ts 150
	}
	// ACKs: 60 of the hundred echo the first copy's ts, 40 the resend's.
	for sn := uint32(0); sn < 100; sn++ {
		ack := ackSeg(0, sn, 0)
		ts := uint32(150)
		if sn < 60 {
			ts = 100
		}
		binary.LittleEndian.PutUint32(ack[8:], ts)
		receive(t, s, rc, fecPacket(seq, fecTypeData, ack))
	}
	clock = clock.Add(time.Second)
	send(1100, 1000)
	if want, got := 40.0/1101, s.Peer(to).State().Loss; got < want-1e-9 || got > want+1e-9 {
		t.Fatalf("residual loss %.4f, want %.4f: the 40 resends that were needed, not the 60 spurious", got, want)
	}
}

// sealed returns plain as kcp-go would send it with block.
func sealed(t *testing.T, block kcp.BlockCrypt, plain []byte) []byte {
	t.Helper()
	p := make([]byte, sealHeader+len(plain))
	if _, err := rand.Read(p[:nonceSize]); err != nil {
		t.Fatal(err)
	}
	copy(p[sealHeader:], plain)
	binary.LittleEndian.PutUint32(p[nonceSize:], crc32.ChecksumIEEE(p[sealHeader:]))
	block.Encrypt(p, p)
	return p
}

// TestSealConnSkipsPacketsThatDoNotOpen feeds garbage, then a packet kcp-go
// would seal: the garbage is counted as a checksum error and skipped.
func TestSealConnSkipsPacketsThatDoNotOpen(t *testing.T) {
	s, rc, block := newRecordSeal(t, "aes")
	plain := fecPacket(0, fecTypeData, pushSeg(0, 50))
	good := sealed(t, block, plain)

	garbage := make([]byte, 200)
	rand.Read(garbage)
	rc.in <- garbage
	rc.in <- []byte{1, 2, 3} // shorter than the header
	rc.in <- good
	before := atomic.LoadUint64(&kcp.DefaultSnmp.InCsumErrors)
	buf := make([]byte, 1500)
	n, _, err := s.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], plain) {
		t.Fatalf("read %x, want %x", buf[:n], plain)
	}
	if d := atomic.LoadUint64(&kcp.DefaultSnmp.InCsumErrors) - before; d < 1 {
		t.Fatalf("checksum errors grew by %d, want at least 1", d)
	}
}

// TestSealConnTunesTheSocketUnderneath: --sockbuf and --dscp reach the UDP
// socket through a SealConn (kcp-go asks its conn for them).
func TestSealConnTunesTheSocketUnderneath(t *testing.T) {
	udp := listenUDP(t)
	s := NewSealConn(udp, nil, commonFor(t, config.ModeAuto, "null"))
	if err := s.SetReadBuffer(1 << 20); err != nil {
		t.Errorf("SetReadBuffer: %v", err)
	}
	if err := s.SetWriteBuffer(1 << 20); err != nil {
		t.Errorf("SetWriteBuffer: %v", err)
	}
	if err := s.SetDSCP(46); err != nil {
		t.Errorf("SetDSCP: %v", err)
	}
	rec := NewSealConn(&recordConn{}, nil, commonFor(t, config.ModeAuto, "null"))
	if err := rec.SetReadBuffer(1 << 20); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetReadBuffer on a conn without one: %v, want ErrUnsupported", err)
	}
}

// TestSealConnLeavesOutParityOnACleanLink closes the loop: data packets
// with nothing sent again, window after window, make the peer's
// controller drop shards, and the SealConn then leaves those parity
// shards out of what it sends.
func TestSealConnLeavesOutParityOnACleanLink(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "aes")
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	seq, sn := uint32(0), uint32(0)
	for range 40 { // windows of 1000 new segments, 200 ms apart
		for range 100 {
			var segs [][]byte
			for range 10 {
				segs = append(segs, pushSeg(sn, 10))
				sn++
			}
			s.WriteTo(fecPacket(seq, fecTypeData, segs...), to)
			seq++
		}
		clock = clock.Add(200 * time.Millisecond)
	}
	if st := s.Peer(to).State(); st.Shards != 0 || st.Loss != 0 {
		t.Fatalf("after 8 s of a clean link: %d shards, residual loss %v; want 0 and 0", st.Shards, st.Loss)
	}
	before := rc.sent(s)
	for i := uint32(10); i < 13; i++ { // a group's parity shards
		s.WriteTo(fecPacket(i, fecTypeParity), to)
	}
	if n := rc.sent(s) - before; n != 0 {
		t.Fatalf("sent %d parity shards with 0 chosen", n)
	}
}

// A data packet whose size field is too small to hold itself is sent on,
// not counted, and does not panic.
func TestSealConnTakesAMalformedSizeField(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	p := fecPacket(0, fecTypeData, pushSeg(0, 10))
	binary.LittleEndian.PutUint16(p[fecHeader:], 0)
	if _, err := s.WriteTo(p, to); err != nil || rc.sent(s) != 1 {
		t.Fatalf("WriteTo: %v, %d packets sent", err, rc.sent(s))
	}
}

// A thin session's data packets (no more than thinFlight segments in the
// network) go out twice, each copy sealed with its own nonce and opening
// to the same packet; a bulk session's, ACK packets and parity shards go
// once. Once the peer acknowledges everything the session is thin again.
func TestThinSessionSendsItsDataPacketsTwice(t *testing.T) {
	s, rc, block := newRecordSeal(t, "aes")
	to := &net.UDPAddr{} // where recordConn's packets come from
	sent := func(p []byte) int {
		t.Helper()
		before := rc.sent(s)
		if _, err := s.WriteTo(p, to); err != nil {
			t.Fatal(err)
		}
		return rc.sent(s) - before
	}
	first := fecPacket(0, fecTypeData, pushSeg(0, 100))
	if n := sent(first); n != 2 {
		t.Fatalf("the first data packet of an idle session went %d times, want 2", n)
	}
	a, b := rc.written[0], rc.written[1]
	if bytes.Equal(a, b) {
		t.Error("the two copies are the same bytes; each wants its own nonce")
	}
	for _, c := range [][]byte{a, b} {
		block.Decrypt(c, c)
		if !bytes.Equal(c[sealHeader:], first) {
			t.Fatal("a copy does not open to the packet sent")
		}
	}
	if n := sent(fecPacket(1, fecTypeData, ackSeg(0, 7, 0))); n != 1 {
		t.Errorf("a packet of ACKs alone went %d times, want 1", n)
	}
	twice := 1
	full := commonFor(t, config.ModeAuto, "aes").SegmentBytes()
	for sn := uint32(1); sn < 20; sn++ { // a burst of full segments: thin no longer
		want := 1
		if sn < thinFlight {
			want = 2
		}
		if n := sent(fecPacket(sn+1, fecTypeData, pushSeg(sn, full))); n != want {
			t.Errorf("segment %d (%d in the network) went %d times, want %d", sn, sn+1, n, want)
		}
		twice += want - 1
	}
	s.Peer(to).shards.Store(1) // as the controller would after loss
	if n := sent(fecPacket(10, fecTypeParity)); n != 1 {
		t.Errorf("a parity shard went %d times, want 1", n)
	}
	// The peer acknowledges all 20: the next packet is thin again.
	rc.in <- sealed(t, block, fecPacket(0, fecTypeData, ackSeg(0, 19, 20)))
	buf := make([]byte, 1500)
	if _, _, err := s.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	if n := sent(fecPacket(21, fecTypeData, pushSeg(20, 100))); n != 2 {
		t.Errorf("after the peer acknowledged everything a data packet went %d times, want 2", n)
	}
	twice++
	if got := s.Peer(to).Duplicated(); got != uint64(twice) {
		t.Errorf("Duplicated() = %d, want %d", got, twice)
	}
}

// An interactive session on a long path (a game's or a shell's small
// packets every 50 ms, 200 ms round trip: four or more unacknowledged)
// is thin by its bytes: its packets still go twice, up to thinFlight
// full segments' worth; a bulk session's full segments do not.
func TestThinSessionIsThinByBytesNotSegments(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "aes")
	to := &net.UDPAddr{}
	full := commonFor(t, config.ModeAuto, "aes").SegmentBytes()
	small := 72 // an echo of 64 bytes in its smux frame
	limit := thinFlight * (full + kcpSegHeader) / (small + kcpSegHeader)
	for sn := range uint32(limit + 5) {
		before := rc.sent(s)
		s.WriteTo(fecPacket(sn, fecTypeData, pushSeg(sn, small)), to)
		want := 2
		if int(sn)+1 > limit {
			want = 1
		}
		if n := rc.sent(s) - before; n != want {
			t.Fatalf("small segment %d (%d in the network) went %d times, want %d", sn, sn+1, n, want)
		}
	}
}

// A thin session's packet whose data the peer has not acknowledged a
// third of a round trip after it left goes a third time: both copies,
// back to back, may have gone in one burst of loss. One the peer
// acknowledged in time does not.
func TestTailProbeFollowsAnUnacknowledgedThinPacket(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	to := &net.UDPAddr{}
	const rtt = 90 * time.Millisecond
	s.Peer(to).SetRTT(rtt)
	start := time.Now()
	s.WriteTo(fecPacket(0, fecTypeData, pushSeg(0, 100)), to)
	s.out.idle() // until the probe's time has come
	rc.mu.Lock()
	n, when := len(rc.written), slices.Clone(rc.when)
	rc.mu.Unlock()
	if n != 3 {
		t.Fatalf("an unacknowledged thin packet went %d times, want 3", n)
	}
	if wait := when[2].Sub(start); wait < rtt/3 {
		t.Errorf("the third copy went %v after the packet, want ≥ %v", wait, rtt/3)
	}
	// The next one is acknowledged (its una passes it) before its time.
	s.WriteTo(fecPacket(1, fecTypeData, pushSeg(1, 100)), to)
	receive(t, s, rc, fecPacket(0, fecTypeData, ackSeg(0, 1, 2)))
	s.out.idle()
	if got := rc.sent(s); got != 5 {
		t.Errorf("%d packets sent, want 5: an acknowledged packet has no tail probe", got)
	}
	if got := s.Peer(to).Duplicated(); got != 3 {
		t.Errorf("Duplicated() = %d, want 3 (a copy of each, one tail probe)", got)
	}
}

// Third copies leave in the order they are due, not written: a long
// path's copy, written first, does not hold back a short path's.
func TestTailProbesLeaveWhenDue(t *testing.T) {
	s, rc, _ := newRecordSeal(t, "null")
	far := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	near := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 2}
	s.Peer(far).SetRTT(150 * time.Millisecond) // its copy 50 ms on
	s.Peer(near).SetRTT(30 * time.Millisecond) // its copy 10 ms on
	s.WriteTo(fecPacket(0, fecTypeData, pushSeg(0, 100)), far)
	s.WriteTo(fecPacket(0, fecTypeData, pushSeg(0, 100)), near)
	s.out.idle()
	rc.mu.Lock()
	to := slices.Clone(rc.to)
	rc.mu.Unlock()
	if len(to) != 6 {
		t.Fatalf("%d packets sent, want 6 (each twice, and a third copy)", len(to))
	}
	if to[4].String() != near.String() || to[5].String() != far.String() {
		t.Errorf("third copies went to %v, %v; want the near peer's first", to[4], to[5])
	}
}

// The third copy waits a third of the least RTT, no less than 10 ms (a
// path that short has the ACK back first) and no more than 50 ms (what
// it may add to a probe whose two copies were lost).
func TestTailProbeWaitsAThirdOfTheRTT(t *testing.T) {
	p := newPeer(10, 3, false, 64, 0)
	if got := p.tailProbe(); got != 0 {
		t.Errorf("with no RTT known: %v, want none", got)
	}
	for _, tc := range []struct{ rtt, want time.Duration }{
		{3 * time.Millisecond, 10 * time.Millisecond},
		{90 * time.Millisecond, 30 * time.Millisecond},
		{121 * time.Millisecond, 121 * time.Millisecond / 3},
		{600 * time.Millisecond, 50 * time.Millisecond},
	} {
		p.SetRTT(tc.rtt)
		if got := p.tailProbe(); got != tc.want {
			t.Errorf("RTT %v: third copy after %v, want %v", tc.rtt, got, tc.want)
		}
	}
}

// readSeqids feeds the sealed packets to s and returns the FEC seqid of
// each packet s's ReadFrom hands on (to kcp-go), in order.
func readSeqids(t *testing.T, s *SealConn, rc *recordConn, block kcp.BlockCrypt, plain [][]byte) []uint32 {
	t.Helper()
	var packets [][]byte
	for _, p := range plain {
		packets = append(packets, sealed(t, block, p))
	}
	go func() {
		for _, p := range packets {
			rc.in <- p
		}
		close(rc.in)
	}()
	var got []uint32
	buf := make([]byte, 1500)
	for {
		n, _, err := s.ReadFrom(buf)
		if err != nil {
			return got
		}
		got = append(got, binary.LittleEndian.Uint32(buf[:n]))
	}
}

// group returns the packets of FEC group g at 10/3 as kcp-go sends them,
// leaving out the data shards in lost.
func group(g uint32, lost ...uint32) [][]byte {
	var out [][]byte
	for i := range uint32(13) {
		seqid := g*13 + i
		switch {
		case slices.Contains(lost, seqid):
		case i < 10:
			out = append(out, fecPacket(seqid, fecTypeData, pushSeg(g*10+i, bulkData)))
		default:
			out = append(out, fecPacket(seqid, fecTypeParity, make([]byte, kcpSegHeader+bulkData)))
		}
	}
	return out
}

// TestSealConnKeepsParityFromKcpGoOnlyWhereAShardIsMissing: the parity
// shards of a group whose data all arrived are of no use, and kcp-go's
// decoder would copy and hold each; those of a group with a data shard
// missing rebuild it, and reach kcp-go.
func TestSealConnKeepsParityFromKcpGoOnlyWhereAShardIsMissing(t *testing.T) {
	s, rc, block := newRecordSeal(t, "aes")
	got := readSeqids(t, s, rc, block, slices.Concat(group(0), group(1, 15), group(2)))
	var want []uint32
	for i := range uint32(39) {
		if i < 10 || i >= 13 && i < 26 && i != 15 || i >= 26 && i < 36 {
			want = append(want, i)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("handed on %v,\nwant %v", got, want)
	}
}

// TestSealConnHandsOnEveryParityShardOfAnotherFECLayout: a peer whose
// groups are not ours has all its shards reach kcp-go, whose decoder
// follows it. Here 20/3 against our 10/3: seqids 286–295 are its data
// and 296–298 its parity, where our group 22 has its data and parity too.
func TestSealConnHandsOnEveryParityShardOfAnotherFECLayout(t *testing.T) {
	s, rc, block := newRecordSeal(t, "aes")
	var plain [][]byte
	for seqid := range uint32(23 * 14) {
		if seqid%23 < 20 {
			plain = append(plain, fecPacket(seqid, fecTypeData, pushSeg(seqid, bulkData)))
		} else {
			plain = append(plain, fecPacket(seqid, fecTypeParity, make([]byte, kcpSegHeader+bulkData)))
		}
	}
	if got := readSeqids(t, s, rc, block, plain); len(got) != len(plain) {
		t.Fatalf("handed on %d of %d shards", len(got), len(plain))
	}
}
