package tunnel

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/crypt"
)

// The datagram input of the server, fuzzed: every input is a server
// configuration and a run of datagrams from up to eight source
// addresses, fed to a fresh Server over an injected PacketConn. A record
// can ask to be sealed with a valid crypt header (the nonce, CRC and
// cipher of the server's key), so the fuzzer explores what lies behind
// the checksum too: FEC, KCP, snappy framing and smux.
//
// Input layout: one flags byte (fuzzNoComp | fuzzSmuxV2 | fuzzNoFEC |
// fuzzCryptNull), then records of [head u8][len u16 LE][len bytes];
// head bit 0 = seal, bits 1-3 = source index.
const (
	fuzzNoComp    = 1 << 0
	fuzzSmuxV2    = 1 << 1
	fuzzNoFEC     = 1 << 2
	fuzzCryptNull = 1 << 3

	fuzzSeal       = 1 << 0
	fuzzMaxRecords = 64
	fuzzKey        = "vector-key-1" // the key of shared/vectors/a-aes-fast3.json
	// fuzzGoroutineSlack bounds the goroutines an input may leave behind
	// for a moment (session loops exit after Close returns); a leak
	// accumulates over the run and crosses it.
	fuzzGoroutineSlack = 2000
	fuzzHang           = 20 * time.Second // one input normally takes milliseconds
)

func FuzzServerDatagrams(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	aes, err := crypt.New("aes", fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	target := filepath.Join(f.TempDir(), "absent.sock") // every stream's dial fails at once
	log := slog.New(slog.DiscardHandler)
	base := runtime.NumGoroutine()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		// The fuzzer does not notice a hang; a panic makes it a crasher.
		hang := time.AfterFunc(fuzzHang, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("the server hung on this input for %v:\n%s", fuzzHang, buf[:runtime.Stack(buf, true)]))
		})
		defer hang.Stop()
		block := aes
		if in[0]&fuzzCryptNull != 0 {
			block = nil
		}
		cfg := fuzzServerConfig(in[0], target)
		feedDatagrams(t, &cfg, log, func(feed func([]byte, net.Addr) bool) {
			forEachRecord(in[1:], func(head byte, data []byte) bool {
				if head&fuzzSeal != 0 {
					data = seal(block, head, data)
				}
				return feed(data, fuzzSource(head>>1&7))
			})
		}, settleSessions)
		if n := runtime.NumGoroutine(); n > base+fuzzGoroutineSlack {
			t.Fatalf("%d goroutines running after the server closed, %d at start", n, base)
		}
	})
}

// fuzzServerConfig is the server configuration an input's flags byte asks for.
func fuzzServerConfig(flags byte, target string) config.Server {
	cfg := config.DefaultServer()
	testCommon(&cfg.Common)
	cfg.Key, cfg.Crypt, cfg.Target, cfg.Quiet = fuzzKey, "aes", target, true
	cfg.NoComp = flags&fuzzNoComp != 0
	if flags&fuzzSmuxV2 != 0 {
		cfg.SmuxVer = 2
	}
	if flags&fuzzNoFEC != 0 {
		cfg.DataShard, cfg.ParityShard = 0, 0
	}
	if flags&fuzzCryptNull != 0 {
		cfg.Crypt = "null"
	}
	return cfg
}

// feedDatagrams serves a fresh Server on a feedConn, lets run feed it,
// waits until the server has taken in the last datagram and until
// settled returns, and closes it.
func feedDatagrams(t testing.TB, cfg *config.Server, log *slog.Logger, run func(feed func([]byte, net.Addr) bool), settled func(*Server)) {
	srv, err := NewServer(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	conn := newFeedConn()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(conn) }()
	run(conn.feed)
	conn.sync()
	settled(srv)
	srv.Close()
	<-served
}

// settleSessions gives the session goroutines a moment to take in what the
// datagrams delivered (smux reads in goroutines of its own): it returns
// once the server's sessions and the bytes they read have stayed the same
// for a few milliseconds, or after 50 ms.
func settleSessions(srv *Server) {
	last, stable := uint64(0), 0
	for deadline := time.Now().Add(50 * time.Millisecond); stable < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // polling for quiescence, not synchronising
		infos := srv.SessionInfos()
		sum := uint64(len(infos))<<48 + uint64(runtime.NumGoroutine())<<32
		for _, in := range infos {
			sum += in.BytesIn
		}
		if sum == last {
			stable++
		} else {
			last, stable = sum, 0
		}
	}
}

// forEachRecord calls fn for each record of in, at most fuzzMaxRecords,
// until fn returns false.
func forEachRecord(in []byte, fn func(head byte, data []byte) bool) {
	for n := 0; n < fuzzMaxRecords && len(in) >= 3; n++ {
		head, size := in[0], int(binary.LittleEndian.Uint16(in[1:]))
		in = in[3:]
		size = min(size, len(in))
		if !fn(head, in[:size]) {
			return
		}
		in = in[size:]
	}
}

func fuzzSource(i byte) net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2+i), Port: 40000 + int(i)}
}

// fuzzRecord is one datagram of a seed input.
type fuzzRecord struct {
	seal bool
	src  byte
	data []byte
}

func fuzzInput(flags byte, recs ...fuzzRecord) []byte {
	b := []byte{flags}
	for _, r := range recs {
		head := r.src << 1
		if r.seal {
			head |= fuzzSeal
		}
		b = append(b, head)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(r.data)))
		b = append(b, r.data...)
	}
	return b
}

// fuzzSeeds are hand-built sessions for each configuration, garbage, and
// (when shared/vectors is beside the repository) the datagrams kcptun's
// client sent in the recorded sessions: raw for the one recorded with
// the fuzz key, decrypted (to be sealed again) for all.
func fuzzSeeds(tb testing.TB) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var seeds [][]byte
	var junk []fuzzRecord
	for i, n := range []int{0, 1, 19, 20, 23, 24, 31, 100, 1400, 1500, 4000} {
		junk = append(junk, fuzzRecord{seal: i%2 == 1, src: byte(i % 8), data: garbage(n)})
	}
	seeds = append(seeds, fuzzInput(0, junk...), fuzzInput(fuzzCryptNull, junk...))

	for flags := byte(0); flags < 16; flags++ {
		ver := byte(1)
		if flags&fuzzSmuxV2 != 0 {
			ver = 2
		}
		mux := append(smuxFrame(ver, smuxCmdSYN, 3, nil), smuxFrame(ver, smuxCmdPSH, 3, []byte("hello"))...)
		mux = append(mux, smuxFrame(ver, smuxCmdNOP, 0, nil)...)
		if ver == 2 {
			upd := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 5), 1<<20)
			mux = append(mux, smuxFrame(ver, 4, 3, upd)...)
		}
		mux = append(mux, smuxFrame(ver, smuxCmdFIN, 3, nil)...)
		stream := mux
		if flags&fuzzNoComp == 0 {
			stream = snappyStream(mux)
		}
		push := kcpSegment(0x1234, kcpCmdPush, 0, 0, stream)
		late := kcpSegment(0x1234, kcpCmdPush, 5, 0, []byte("later"))
		if flags&fuzzNoFEC == 0 {
			push, late = fecData(100, push), fecData(101, late)
		}
		sealed := flags&fuzzCryptNull == 0
		seeds = append(seeds, fuzzInput(flags,
			fuzzRecord{sealed, 0, push},
			fuzzRecord{sealed, 0, late},
			fuzzRecord{sealed, 1, push},
			fuzzRecord{sealed, 0, fecParity(102, garbage(40))},
			fuzzRecord{sealed, 2, kcpSegment(0x99, 82, 0, 0, nil)}, // an ACK for nothing
		))
	}
	return append(seeds, vectorSeeds(tb)...)
}

// vectorTranscript is the part of a shared/vectors transcript the seeds use.
type vectorTranscript struct {
	Key    string `json:"key"`
	Crypt  string `json:"crypt"`
	Params struct {
		DataShard int  `json:"datashard"`
		NoComp    bool `json:"nocomp"`
		SmuxVer   int  `json:"smuxver"`
	} `json:"effective_params"`
	Datagrams []struct {
		Dir string `json:"dir"`
		Hex string `json:"hex"`
	} `json:"datagrams"`
}

func vectorSeeds(tb testing.TB) [][]byte {
	dir := findVectors()
	if dir == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var seeds [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var tr vectorTranscript
		if json.Unmarshal(b, &tr) != nil || len(tr.Datagrams) == 0 || tr.Crypt == "aes-128-gcm" {
			continue
		}
		block, err := crypt.New(tr.Crypt, tr.Key)
		if err != nil {
			continue
		}
		var flags byte
		if tr.Params.NoComp {
			flags |= fuzzNoComp
		}
		if tr.Params.SmuxVer == 2 {
			flags |= fuzzSmuxV2
		}
		if tr.Params.DataShard == 0 {
			flags |= fuzzNoFEC
		}
		if block == nil {
			flags |= fuzzCryptNull
		}
		raw := tr.Key == fuzzKey && tr.Crypt == "aes"
		var plain, sent []fuzzRecord
		for _, d := range tr.Datagrams {
			pkt, err := hex.DecodeString(d.Hex)
			if err != nil || d.Dir != "c2s" {
				continue
			}
			sent = append(sent, fuzzRecord{data: pkt})
			if p, ok := unseal(block, pkt); ok {
				plain = append(plain, fuzzRecord{seal: block != nil, data: p})
			}
		}
		seeds = append(seeds, fuzzInput(flags, plain...))
		if raw {
			seeds = append(seeds, fuzzInput(flags, sent...))
		}
	}
	return seeds
}

// unseal undoes seal; ok is false when the checksum fails.
func unseal(block kcp.BlockCrypt, pkt []byte) ([]byte, bool) {
	if block == nil {
		return pkt, true
	}
	if len(pkt) < cryptHeaderLen {
		return nil, false
	}
	b := make([]byte, len(pkt))
	block.Decrypt(b, pkt)
	plain := b[cryptHeaderLen:]
	return plain, crc32.ChecksumIEEE(plain) == binary.LittleEndian.Uint32(b[cryptNonceLen:])
}

// findVectors returns shared/vectors beside the repository, or "".
func findVectors() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared", "vectors")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// feedConn is a net.PacketConn whose ReadFrom returns the datagrams fed
// to it, one at a time; what is written to it is counted and dropped.
type feedConn struct {
	in      chan feedItem
	done    chan struct{}
	once    sync.Once
	written atomic.Int64
}

type feedItem struct {
	data    []byte
	from    net.Addr
	reached chan struct{} // a barrier: closed when the reader gets to it
}

func newFeedConn() *feedConn {
	return &feedConn{in: make(chan feedItem), done: make(chan struct{})}
}

// feed hands one datagram to the reader; false once the conn is closed.
func (c *feedConn) feed(data []byte, from net.Addr) bool {
	select {
	case c.in <- feedItem{data: data, from: from}:
		return true
	case <-c.done:
		return false
	}
}

// sync returns once the reader has finished with every datagram fed
// before (it reads them one by one, processing each before the next read).
func (c *feedConn) sync() {
	reached := make(chan struct{})
	select {
	case c.in <- feedItem{reached: reached}:
	case <-c.done:
		return
	}
	select {
	case <-reached:
	case <-c.done:
	}
}

func (c *feedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		select {
		case it := <-c.in:
			if it.reached != nil {
				close(it.reached)
				continue
			}
			return copy(b, it.data), it.from, nil
		case <-c.done:
			return 0, nil, net.ErrClosed
		}
	}
}

func (c *feedConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	c.written.Add(1)
	return len(b), nil
}

func (c *feedConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *feedConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 29900}
}
func (c *feedConn) SetDeadline(time.Time) error      { return nil }
func (c *feedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *feedConn) SetWriteDeadline(time.Time) error { return nil }

// The hand-built seeds are what a peer with the key sends: one opens a
// stream (the server tries the target), in every configuration.
func TestHandBuiltDatagramsOpenAStream(t *testing.T) {
	target := filepath.Join(t.TempDir(), "absent.sock")
	seeds := fuzzSeeds(t)
	aes, err := crypt.New("aes", fuzzKey)
	if err != nil {
		t.Fatal(err)
	}
	for flags := byte(0); flags < 16; flags++ {
		in := seeds[2+int(flags)]
		block := aes
		if flags&fuzzCryptNull != 0 {
			block = nil
		}
		log, lb := captureLog(t, slog.LevelInfo)
		cfg := fuzzServerConfig(flags, target)
		feedDatagrams(t, &cfg, log, func(feed func([]byte, net.Addr) bool) {
			forEachRecord(in[1:], func(head byte, data []byte) bool {
				if head&fuzzSeal != 0 {
					data = seal(block, head, data)
				}
				return feed(data, fuzzSource(head>>1&7))
			})
		}, func(*Server) { lb.waitLine(5*time.Second, "cannot reach target") })
		if len(lb.lines("cannot reach target")) == 0 {
			t.Errorf("flags %#x: no stream reached the target; log:\n%s", flags, lb)
		}
	}
}
