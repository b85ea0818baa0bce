package stream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/golang/snappy"
	"golang.org/x/net/nettest"
)

// compPayloads are writes of the shapes the tunnel produces: smux headers,
// compressible and random frames, and one beyond snappy's 64 KiB block.
func compPayloads() [][]byte {
	return [][]byte{
		{1, 0, 0, 0, 3, 0, 0, 0},
		bytes.Repeat([]byte("kcptun-vector request 0 "), 125),
		randomBytes(1, 20000),
		{},
		randomBytes(2, 1),
		bytes.Repeat([]byte{7}, 70000),
		randomBytes(3, 65536),
	}
}

func TestCompConnWritesWhatGolangSnappyWrites(t *testing.T) {
	var want bytes.Buffer
	ref := snappy.NewBufferedWriter(&want)
	got := newCaptureConn(nil)
	c := NewCompConn(got)
	var plain []byte
	for _, p := range compPayloads() {
		if _, err := ref.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := ref.Flush(); err != nil {
			t.Fatal(err)
		}
		n, err := c.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
		}
		plain = append(plain, p...)
	}
	if !bytes.Equal(got.written(), want.Bytes()) {
		t.Fatalf("framed output differs from golang/snappy's (%d vs %d bytes)", len(got.written()), want.Len())
	}
	decoded, err := io.ReadAll(snappy.NewReader(bytes.NewReader(got.written())))
	if err != nil || !bytes.Equal(decoded, plain) {
		t.Fatalf("golang/snappy cannot read our output back: %v", err)
	}
}

func TestCompConnReadsGolangSnappyOutput(t *testing.T) {
	var framed bytes.Buffer
	ref := snappy.NewBufferedWriter(&framed)
	var plain []byte
	for _, p := range compPayloads() {
		ref.Write(p)
		ref.Flush()
		plain = append(plain, p...)
	}
	got, err := io.ReadAll(NewCompConn(newCaptureConn(framed.Bytes())))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decoded %d bytes, err %v; want %d bytes", len(got), err, len(plain))
	}
}

func TestCompConnSurvivesTimeoutsMidChunk(t *testing.T) {
	var framed bytes.Buffer
	ref := snappy.NewBufferedWriter(&framed)
	var plain []byte
	for _, p := range compPayloads() {
		ref.Write(p)
		ref.Flush()
		plain = append(plain, p...)
	}
	src := &flakyConn{step: 777, budget: -1}
	src.in.Reset(framed.Bytes())
	c := NewCompConn(src)
	var got []byte
	buf := make([]byte, 5000)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("Read: %v", err)
		}
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("after timeouts decoded %d bytes, want %d identical", len(got), len(plain))
	}
}

func TestCompConnCompletesPartlyWrittenChunk(t *testing.T) {
	dst := &flakyConn{budget: 5}
	c := NewCompConn(dst)
	first := bytes.Repeat([]byte("abc"), 1000)
	n, err := c.Write(first)
	if n != len(first) || err == nil {
		t.Fatalf("partly sent Write = %d, %v; want all bytes committed and the timeout", n, err)
	}
	dst.budget = -1
	second := randomBytes(4, 3000)
	if n, err := c.Write(second); n != len(second) || err != nil {
		t.Fatalf("next Write = %d, %v", n, err)
	}
	got, err := io.ReadAll(snappy.NewReader(bytes.NewReader(dst.written())))
	if err != nil || !bytes.Equal(got, append(first, second...)) {
		t.Fatalf("stream after a partial write: %d bytes, %v", len(got), err)
	}
}

func TestCompConnRejectsCorruptChunk(t *testing.T) {
	var framed bytes.Buffer
	ref := snappy.NewBufferedWriter(&framed)
	ref.Write(randomBytes(5, 100))
	ref.Flush()
	b := framed.Bytes()
	b[len(b)-1] ^= 1
	_, err := io.ReadAll(NewCompConn(newCaptureConn(b)))
	if !errors.Is(err, snappy.ErrCorrupt) {
		t.Fatalf("corrupt chunk: err = %v, want snappy.ErrCorrupt", err)
	}
	_, err = io.ReadAll(NewCompConn(newCaptureConn(b[:len(b)-3])))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated chunk: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestCompConnWriteDoesNotAllocate(t *testing.T) {
	c := NewCompConn(discardConn{})
	p := randomBytes(6, 32768)
	c.Write(p)
	if a := testing.AllocsPerRun(50, func() { c.Write(p) }); a > 0 {
		t.Fatalf("%v allocations per Write", a)
	}
}

type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

func TestCompConnIsANetConn(t *testing.T) {
	t.Run("Pipe", func(t *testing.T) {
		nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			a, b := net.Pipe()
			c1, c2 := NewCompConn(a), NewCompConn(b)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
	t.Run("TCP", func(t *testing.T) {
		nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			a, b, err := tcpPairErr()
			if err != nil {
				return nil, nil, nil, err
			}
			c1, c2 := NewCompConn(a), NewCompConn(b)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
}
