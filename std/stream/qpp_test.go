package stream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"golang.org/x/net/nettest"
)

const testQPPKey = "test-qpp-key"

func newTestQPP(t *testing.T) *QPP {
	t.Helper()
	q, err := NewQPP(testQPPKey, 7)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestNewQPPRejectsBadCount(t *testing.T) {
	for _, n := range []int{0, -1, 65536} {
		if _, err := NewQPP("k", n); !errors.Is(err, ErrQPPCount) {
			t.Errorf("NewQPP(count %d): err = %v, want ErrQPPCount", n, err)
		}
	}
}

func TestQPPRoundTripOverTCPWithHalfClose(t *testing.T) {
	q := newTestQPP(t)
	a, b := tcpPair(t)
	wa, wb := q.Wrap(a), q.Wrap(b)
	cw, ok := wa.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("QPP over TCP lost CloseWrite")
	}
	msg := randomBytes(7, 100000)
	orig := bytes.Clone(msg)
	go func() {
		wa.Write(msg[:3])
		wa.Write(msg[3:])
		cw.CloseWrite()
	}()
	got, err := io.ReadAll(wb)
	if err != nil || !bytes.Equal(got, orig) {
		t.Fatalf("read %d bytes, %v; want the %d written", len(got), err, len(orig))
	}
	if !bytes.Equal(msg, orig) {
		t.Fatal("Write modified the caller's buffer")
	}
}

func TestQPPEncryptsEachDirectionFromTheStart(t *testing.T) {
	q := newTestQPP(t)
	a, b := tcpPair(t)
	msg := []byte("same plaintext in both directions")
	wa := q.Wrap(a)
	if _, err := wa.Write(msg); err != nil {
		t.Fatal(err)
	}
	wire := make([]byte, len(msg))
	if _, err := io.ReadFull(b, wire); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(wire, msg) {
		t.Fatal("QPP sent plaintext")
	}
	// The reply direction has its own PRNG, also at the key's start.
	if _, err := b.Write(wire); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(wa, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("reply decrypted to %q, %v", got, err)
	}
}

func TestQPPWithoutCloseWriteHasNone(t *testing.T) {
	a, _ := net.Pipe()
	defer a.Close()
	if _, ok := newTestQPP(t).Wrap(a).(interface{ CloseWrite() error }); ok {
		t.Fatal("QPP over net.Pipe claims CloseWrite")
	}
}

func TestQPPPartialWriteKeepsStreamDecryptable(t *testing.T) {
	q := newTestQPP(t)
	dst := &flakyConn{budget: 5}
	w := q.Wrap(dst)
	msg := randomBytes(8, 300)
	n, err := w.Write(msg)
	if n != 5 || err == nil {
		t.Fatalf("Write = %d, %v; want 5 and the timeout", n, err)
	}
	dst.budget = -1
	if _, err := w.Write(msg[n:]); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(q.Wrap(newCaptureConn(dst.written())))
	if !bytes.Equal(got, msg) {
		t.Fatal("stream after a partial write does not decrypt")
	}
}

func TestQPPIsANetConn(t *testing.T) {
	q := newTestQPP(t)
	t.Run("Pipe", func(t *testing.T) {
		nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			a, b := net.Pipe()
			c1, c2 := q.Wrap(a), q.Wrap(b)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
	t.Run("TCP", func(t *testing.T) {
		nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			a, b, err := tcpPairErr()
			if err != nil {
				return nil, nil, nil, err
			}
			c1, c2 := q.Wrap(a), q.Wrap(b)
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	})
}
