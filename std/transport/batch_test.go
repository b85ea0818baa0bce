package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"golang.org/x/net/ipv4"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/crypt"
	"github.com/kcptun-go/tunnel/std/crypt/aescfb"
	"github.com/kcptun-go/tunnel/std/internal/testnet"
)

// A SealConn on a UDP socket reads several packets per system call and
// still hands kcp-go each packet whole, in order, with its sender, and
// a packet longer than kcp-go's buffer cut to it (as a socket read does).
func TestBatchReaderHandsOutEachPacketInOrder(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			socks := loopbackSockets(t, network, 3)
			rx, senders := socks[0], socks[1:]
			r := newBatchReader(rx)
			if r == nil {
				t.Fatal("no batch reader on a UDP socket")
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

// A SealConn on a UDP socket sends many packets per system call and
// still puts each on the wire whole, in the order kcp-go wrote them, to
// its address, and gives every buffer back once it is out.
func TestBatchWriterSendsEachPacketInOrder(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			socks := loopbackSockets(t, network, 3)
			tx, rxs := socks[0], socks[1:]
			var freed atomic.Int32
			w := newBatchWriter(tx, func(*[]byte) { freed.Add(1) }, time.Now)
			if w == nil {
				t.Fatal("no batch writer on a UDP socket")
			}
			const packets = writeQueueMax + 2*writeBatchSize + 5 // more than the queue holds
			for i := range packets {
				b := bytes.Repeat([]byte{byte(i)}, 1+i%200)
				if err := w.send(&b, len(b), rxs[i%2].LocalAddr()); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			w.drain()
			if n := freed.Load(); n != packets {
				t.Errorf("%d buffers given back, want %d", n, packets)
			}
			buf := make([]byte, 300)
			for _, rx := range rxs {
				rx.SetReadDeadline(time.Now().Add(10 * time.Second))
			}
			for i := range packets {
				n, addr, err := rxs[i%2].ReadFrom(buf)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if want := bytes.Repeat([]byte{byte(i)}, 1+i%200); !bytes.Equal(buf[:n], want) {
					t.Fatalf("packet %d: %d bytes starting %v, want %d bytes of %d", i, n, buf[:min(n, 4)], len(want), byte(i))
				}
				if got, want := addr.String(), tx.LocalAddr().String(); got != want {
					t.Fatalf("packet %d from %s, want %s", i, got, want)
				}
			}
		})
	}
}

// A packet the socket refuses is reported to the next write to its
// address, as a write of it would have been, and to no other; the
// packets queued around it still go out.
func TestBatchWriterReportsAFailedSendToItsAddress(t *testing.T) {
	socks := loopbackSockets(t, "udp4", 2)
	tx, rx := socks[0], socks[1]
	// rx's address as another value: errors are kept by address, not by net.Addr value
	other := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: rx.LocalAddr().(*net.UDPAddr).Port}
	w := newBatchWriter(tx, func(*[]byte) {}, time.Now)
	small, huge := []byte("before"), make([]byte, 70000) // more than a UDP datagram holds
	after := []byte("after")
	bad := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	for _, q := range []struct {
		b    *[]byte
		addr net.Addr
	}{{&small, rx.LocalAddr()}, {&huge, bad}, {&after, other}} {
		if err := w.send(q.b, len(*q.b), q.addr); err != nil {
			t.Fatal(err)
		}
	}
	w.drain()
	if err := w.send(&small, len(small), rx.LocalAddr()); err != nil {
		t.Errorf("a write to another address got %v, want none", err)
	}
	if err := w.send(&small, len(small), bad); err == nil || !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("the next write to the refused packet's address got %v, want EMSGSIZE", err)
	}
	if err := w.send(&small, len(small), bad); err != nil {
		t.Errorf("the write after that got %v, want none (the error is told once)", err)
	}
	w.drain()
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	for _, want := range []string{"before", "after", "before"} {
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != want {
			t.Fatalf("read %q, want %q", buf[:n], want)
		}
	}
}

// Closing a SealConn sends what kcp-go wrote before it (its last ACKs,
// a session's close) rather than dropping it with the socket.
func TestSealConnCloseSendsWhatIsQueued(t *testing.T) {
	testnet.CheckLeaks(t)
	pc, rx, c, block := aesSockets(t)
	s := NewSealConn(pc, block, c)
	const packets = 2 * writeBatchSize
	for i := range packets {
		if _, err := s.WriteTo(fecPacket(uint32(i), fecTypeData, pushSeg(uint32(i), 100)), rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	for i := range packets {
		if _, _, err := rx.ReadFrom(buf); err != nil {
			t.Fatalf("packet %d of %d: %v", i, packets, err)
		}
	}
	// kcp-go learns that the socket is gone: a write after Close is
	// dropped, and the one after it fails. (128 segments of 100 bytes in
	// the network are not thin: a copy would take the error.)
	for i := range 2 {
		_, err := s.WriteTo(fecPacket(0, fecTypeData, pushSeg(0, 100)), rx.LocalAddr())
		if i == 1 && !errors.Is(err, net.ErrClosed) {
			t.Errorf("a write after Close got %v, want net.ErrClosed", err)
		}
		s.out.drain()
	}
}

// countingAES counts the packets aescfb encrypts one by one and a batch
// at a time.
type countingAES struct {
	*aescfb.Cipher
	one, many atomic.Int64
}

func (c *countingAES) Encrypt(dst, src []byte) { c.one.Add(1); c.Cipher.Encrypt(dst, src) }

func (c *countingAES) EncryptMany(pkts [][]byte) {
	c.many.Add(int64(len(pkts)))
	c.Cipher.EncryptMany(pkts)
}

// On a UDP socket a SealConn hands AES the packets a batch at a time
// (eight side by side: one packet's blocks chain), and what arrives is
// what kcp-go's own AES opens, with the CRC32 kcp-go checks.
func TestSealConnEncryptsAESABatchAtATime(t *testing.T) {
	testnet.CheckLeaks(t)
	pc, rx, c, block := aesSockets(t)
	counted := &countingAES{Cipher: block.(*aescfb.Cipher)}
	s := NewSealConn(pc, counted, c)
	const packets = 2 * writeBatchSize
	sent := make([][]byte, packets)
	for i := range packets {
		sent[i] = fecPacket(uint32(i), fecTypeData, pushSeg(uint32(i), 100+i))
		if _, err := s.WriteTo(sent[i], rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The first packets go twice (a thin session's: see SealConn).
	one, many := counted.one.Load(), counted.many.Load()
	if one != 0 || many < packets {
		t.Fatalf("%d packets encrypted one by one and %d in batches, want 0 and at least %d", one, many, packets)
	}
	kcpgo, err := kcp.NewAESBlockCrypt(crypt.DeriveKey(c.Key))
	if err != nil {
		t.Fatal(err)
	}
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	for i := range many {
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d of %d: %v", i, many, err)
		}
		kcpgo.Decrypt(buf[:n], buf[:n])
		body := buf[sealHeader:n]
		seqid := binary.LittleEndian.Uint32(body)
		if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(buf[nonceSize:]) || seqid >= packets || !bytes.Equal(body, sent[seqid]) {
			t.Fatalf("packet %d does not open with kcp-go's AES to one that was sent", i)
		}
	}
}

// aesSockets returns two UDP sockets on the IPv4 loopback (one to seal
// from, one to receive on), fast3's settings with --crypt aes, and that
// cipher.
func aesSockets(t *testing.T) (pc, rx net.PacketConn, c *config.Common, block kcp.BlockCrypt) {
	t.Helper()
	socks := loopbackSockets(t, "udp4", 2)
	c = commonFor(t, "fast3", "aes")
	block, err := crypt.New(c.Crypt, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return socks[0], socks[1], c, block
}

// loopbackSockets returns n UDP sockets on network's loopback address,
// closed when the test ends; it skips the test where that network has no
// loopback (IPv6 off).
func loopbackSockets(t *testing.T, network string, n int) []net.PacketConn {
	t.Helper()
	host := "127.0.0.1:0"
	if network == "udp6" {
		host = "[::1]:0"
	}
	var socks []net.PacketConn
	for range n {
		pc, err := net.ListenPacket(network, host)
		if err != nil {
			t.Skipf("no %s loopback here: %v", network, err)
		}
		t.Cleanup(func() { pc.Close() })
		socks = append(socks, pc)
	}
	return socks
}

// Once the socket is closed, what is queued is dropped, every buffer is
// given back, and the writes after it learn that the socket is gone.
func TestBatchWriterOnAClosedSocket(t *testing.T) {
	socks := loopbackSockets(t, "udp4", 2)
	tx, rx := socks[0], socks[1]
	var freed atomic.Int32
	w := newBatchWriter(tx, func(*[]byte) { freed.Add(1) }, time.Now)
	tx.Close()
	const packets = 3 * writeQueueMax
	var sawClosed bool
	for i := range packets {
		b := []byte{byte(i)}
		err := w.send(&b, 1, rx.LocalAddr())
		switch {
		case errors.Is(err, net.ErrClosed):
			sawClosed = true
		case err != nil:
			t.Fatalf("packet %d: %v, want nil or net.ErrClosed", i, err)
		}
	}
	w.drain()
	b := []byte{0}
	if err := w.send(&b, 1, rx.LocalAddr()); !sawClosed && !errors.Is(err, net.ErrClosed) {
		t.Errorf("writes to a closed socket never failed (last: %v)", err)
	}
	w.drain()
	if n := freed.Load(); n != packets+1 {
		t.Errorf("%d buffers given back, want %d", n, packets+1)
	}
}

// While the socket is busy with one call, the packets written meanwhile
// wait and go out together in the next: one system call for up to
// writeBatchSize packets, not one each.
func TestBatchWriterSendsWhatQueuedInOneCall(t *testing.T) {
	fc := &gatedConn{entered: make(chan struct{}, 1), release: make(chan struct{})}
	w := writerOn(fc, func(*[]byte) {}, false)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	b := []byte("x")
	if err := w.send(&b, 1, to); err != nil {
		t.Fatal(err)
	}
	<-fc.entered // the first packet is in the socket call, which waits
	for range writeQueueMax {
		if err := w.send(&b, 1, to); err != nil {
			t.Fatal(err)
		}
	}
	close(fc.release)
	w.drain()
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if want := []int{1, writeQueueMax}; !slices.Equal(fc.sizes, want) {
		t.Errorf("packets per socket call %v, want %v", fc.sizes, want)
	}
}

// gatedConn records how many packets each WriteBatch carries; each call
// says it has begun on entered (when there is room) and waits for
// release to be closed.
type gatedConn struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func (g *gatedConn) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.release
	g.mu.Lock()
	g.sizes = append(g.sizes, len(ms))
	g.mu.Unlock()
	return len(ms), nil
}

func (g *gatedConn) ReadBatch([]ipv4.Message, int) (int, error) { return 0, net.ErrClosed }

// A run of packets of one size to one address goes to the kernel as one
// message it cuts into datagrams (UDP_SEGMENT), and each still reaches
// its address whole and in order: a shorter packet ends a run, as does
// another address or a longer packet.
func TestBatchWriterSegmentsRunsOfEqualPackets(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			socks := loopbackSockets(t, network, 3)
			tx, rxs := socks[0], socks[1:]
			if !canSegment(tx.(*net.UDPConn)) {
				t.Skipf("the kernel here (%s) does not segment UDP sends (UDP_SEGMENT)", runtime.GOOS)
			}
			rec := &recordingBatch{batchConn: batchCalls(tx)}
			var freed atomic.Int32
			w := writerOn(rec, func(*[]byte) { freed.Add(1) }, true)
			type pkt struct {
				to   int
				data []byte
			}
			var sent []pkt
			for i := range 150 {
				to, size := 0, 300
				switch {
				case i%40 == 39:
					size = 100 // ends a run
				case i >= 120 && i%2 == 0:
					to = 1 // another address ends a run
				}
				p := pkt{to, bytes.Repeat([]byte{byte(i)}, size)}
				sent = append(sent, p)
				b := slices.Clone(p.data)
				if err := w.send(&b, len(b), rxs[to].LocalAddr()); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			w.drain()
			if n := freed.Load(); n != int32(len(sent)) {
				t.Errorf("%d buffers given back, want %d", n, len(sent))
			}
			if msgs, pkts := rec.counts(); msgs > pkts/2 { // 30 of the 150 alternate addresses
				t.Errorf("%d packets went in %d messages: runs were not segmented", pkts, msgs)
			}
			buf := make([]byte, 500)
			for _, rx := range rxs {
				rx.SetReadDeadline(time.Now().Add(10 * time.Second))
			}
			for i, p := range sent {
				n, _, err := rxs[p.to].ReadFrom(buf)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if !bytes.Equal(buf[:n], p.data) {
					t.Fatalf("packet %d: %d bytes starting %v, want %d bytes of %d", i, n, buf[:min(n, 4)], len(p.data), byte(i))
				}
			}
		})
	}
}

// The runs a writer makes: one size to one address, the last packet may
// be shorter, and a longer packet or another address starts a new one.
func TestBatchWriterRuns(t *testing.T) {
	a := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	aAgain := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	b := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10}
	batch := []queued{}
	for _, q := range []struct {
		n    int
		addr net.Addr
	}{{5, a}, {5, aAgain}, {5, a}, {3, a}, {5, a}, {5, a}, {5, b}, {5, a}, {6, a}} {
		buf := make([]byte, q.n)
		batch = append(batch, queued{buf: &buf, n: q.n, addr: q.addr})
	}
	w := writerOn(nil, nil, true)
	k := w.pack(batch)
	if want := []int{4, 2, 1, 1, 1}; !slices.Equal(w.segs[:k], want) {
		t.Errorf("runs %v, want %v", w.segs[:k], want)
	}
	w.segment = false
	k = w.pack(batch)
	if want := slices.Repeat([]int{1}, len(batch)); !slices.Equal(w.segs[:k], want) {
		t.Errorf("without segmenting, runs %v, want %v", w.segs[:k], want)
	}
}

// When the kernel refuses a segmented send (a device without checksum
// offload says EIO), the writer sends the same packets one by one, and
// from then on, and reports no error for them.
func TestBatchWriterFallsBackWhenSegmentsAreRefused(t *testing.T) {
	socks := loopbackSockets(t, "udp4", 2)
	tx, rx := socks[0], socks[1]
	rec := &recordingBatch{batchConn: batchCalls(tx), refuseSegments: true}
	w := writerOn(rec, func(*[]byte) {}, true)
	const packets = 20
	for i := range packets {
		b := bytes.Repeat([]byte{byte(i)}, 50)
		if err := w.send(&b, len(b), rx.LocalAddr()); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	w.drain()
	b := []byte("last")
	if err := w.send(&b, len(b), rx.LocalAddr()); err != nil {
		t.Errorf("a write after the refusal got %v, want none", err)
	}
	w.drain()
	if w.segment {
		t.Error("the writer still segments after the kernel refused")
	}
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	for i := range packets + 1 {
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		want := bytes.Repeat([]byte{byte(i)}, 50)
		if i == packets {
			want = []byte("last")
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("packet %d: %q, want %q", i, buf[:n], want)
		}
	}
}

// recordingBatch counts the messages and packets written through it;
// with refuseSegments it fails a call whose first unsent message is
// segmented, as a kernel without checksum offload does (EIO).
type recordingBatch struct {
	batchConn
	refuseSegments bool
	mu             sync.Mutex
	msgs, pkts     int
}

func (r *recordingBatch) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	if r.refuseSegments {
		for i, m := range ms {
			if len(m.Buffers) > 1 {
				if i == 0 {
					return 0, &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendmmsg", syscall.EIO)}
				}
				ms = ms[:i]
				break
			}
		}
	}
	n, err := r.batchConn.WriteBatch(ms, flags)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms[:max(n, 0)] {
		r.msgs++
		r.pkts += len(m.Buffers)
	}
	return n, err
}

func (r *recordingBatch) counts() (msgs, pkts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs, r.pkts
}

// idle returns once the writer has sent all it queued and held, at the
// pacer's times.
func (w *batchWriter) idle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.sending {
		w.room.Wait()
	}
}

// TestBatchReaderOnADualStackSocket: a socket on [::] reads an IPv4
// sender's packets with the sender's address as IPv4 tells it.
func TestBatchReaderOnADualStackSocket(t *testing.T) {
	rx, err := net.ListenPacket("udp", "[::]:0")
	if err != nil {
		t.Skipf("no dual-stack socket here: %v", err)
	}
	defer rx.Close()
	tx := loopbackSockets(t, "udp4", 1)[0]
	port := rx.LocalAddr().(*net.UDPAddr).Port
	if _, err := tx.WriteTo([]byte("v4"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		t.Fatal(err)
	}
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 10)
	n, addr, err := newBatchReader(rx).ReadFrom(buf)
	if err != nil || string(buf[:n]) != "v4" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if got, want := addr.String(), tx.LocalAddr().String(); got != want {
		t.Fatalf("from %s, want %s", got, want)
	}
}

// TestBatchReaderReadsWithoutAllocating: packets from one sender come
// with one address, made once; reading them allocates nothing.
func TestBatchReaderReadsWithoutAllocating(t *testing.T) {
	socks := loopbackSockets(t, "udp4", 2)
	rx, tx := socks[0], socks[1]
	r := newBatchReader(rx)
	const runs = 100
	for range runs + 2 {
		if _, err := tx.WriteTo([]byte("packet"), rx.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 10)
	_, first, err := r.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var last net.Addr
	allocs := testing.AllocsPerRun(runs, func() {
		_, last, err = r.ReadFrom(buf)
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet read, want none", allocs)
	}
	if last != first {
		t.Errorf("the sender's address made again (%p, then %p)", first, last)
	}
}

// TestBatchReaderWaitsAndEnds: on a socket with nothing to read, a read
// waits (until its deadline here: os.ErrDeadlineExceeded), and on a
// closed socket it ends with net.ErrClosed, which the session's reader
// takes for the end.
func TestBatchReaderWaitsAndEnds(t *testing.T) {
	rx := loopbackSockets(t, "udp4", 1)[0]
	r := newBatchReader(rx)
	buf := make([]byte, 10)
	rx.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := r.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing sent: %v, want the deadline", err)
	}
	rx.Close()
	if _, _, err := r.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed socket: %v, want net.ErrClosed", err)
	}
}
