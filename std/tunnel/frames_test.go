package tunnel

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/kcptun-go/tunnel/std/config"
)

// sizeRecorder records the size of each Write to the conn under a smux
// session: each is one KCP write.
type sizeRecorder struct {
	net.Conn
	mu    sync.Mutex
	sizes []int
}

func (r *sizeRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(b))
	r.mu.Unlock()
	return r.Conn.Write(b)
}

// TestBulkWritesFillWholeSegments: an application's bulk data piped into
// a stream reaches KCP in writes of whole segments (of the configured
// --mtu, crypt and FEC), with compression on and off. KCP splits a write
// into segments and sends the last part full; with 32768-byte frames
// every write ended in a quarter-full segment.
func TestBulkWritesFillWholeSegments(t *testing.T) {
	for _, nocomp := range []bool{false, true} {
		c := config.DefaultClient().Common
		c.Crypt, c.Key, c.NoComp = "aes", "frames-test", nocomp
		l, err := newLayers(&c, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		under, peer := net.Pipe()
		rec := &sizeRecorder{Conn: under}
		client, _, err := l.mux(rec, true)
		if err != nil {
			t.Fatal(err)
		}
		server, _, err := l.mux(peer, false)
		if err != nil {
			t.Fatal(err)
		}
		const size = 2 << 20
		got := make(chan int64, 1)
		go func() {
			st, err := server.AcceptStream()
			if err != nil {
				got <- -1
				return
			}
			n, _ := io.Copy(io.Discard, st)
			st.Close() // ends the pipe's copy back to app
			got <- n
		}()
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		app, feed := net.Pipe()
		go func() {
			data := make([]byte, size)
			rand.Read(data) // incompressible, as most bulk data is
			feed.Write(data)
			feed.Close()
		}()
		l.pipe(app, st, client, st)
		if n := <-got; n != size {
			t.Fatalf("nocomp %v: the peer read %d bytes, want %d", nocomp, n, size)
		}
		seg := c.SegmentBytes()
		rec.mu.Lock()
		whole, bulk := 0, 0
		for _, n := range rec.sizes {
			if n > 64 { // data: smux's own frames are 8 bytes (16 in a snappy chunk)
				bulk++
				if n%seg == 0 {
					whole++
				}
			}
		}
		rec.mu.Unlock()
		// The first reads go through the small buffer, and the last one
		// is what is left.
		if bulk-whole > 3 {
			t.Errorf("nocomp %v: %d of %d writes of data are not whole %d-byte segments", nocomp, bulk-whole, bulk, seg)
		}
		client.Close()
		server.Close()
	}
}
