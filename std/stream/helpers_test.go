package stream

import (
	"bytes"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	c1, c2, err := tcpPairErr()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c1.Close(); c2.Close() })
	return c1, c2
}

func tcpPairErr() (*net.TCPConn, *net.TCPConn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- result{c, err}
	}()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	r := <-accepted
	if r.err != nil {
		c1.Close()
		return nil, nil, r.err
	}
	return c1.(*net.TCPConn), r.c.(*net.TCPConn), nil
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// captureConn is a net.Conn that records writes and reads from a buffer.
type captureConn struct {
	mu  sync.Mutex
	in  bytes.Reader
	out bytes.Buffer
}

func newCaptureConn(in []byte) *captureConn {
	c := &captureConn{}
	c.in.Reset(in)
	return c
}

func (c *captureConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in.Read(p)
}

func (c *captureConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *captureConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *captureConn) Close() error                     { return nil }
func (c *captureConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *captureConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

// timeoutErr is what a conn returns when its deadline has passed.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// flakyConn accepts at most budget bytes per Write before failing with a
// timeout, and serves reads in pieces of at most step bytes, failing with a
// timeout every other read: the worst a conn with deadlines can do.
type flakyConn struct {
	captureConn
	budget  int // bytes the next Write may accept; -1 = unlimited
	step    int
	failNow bool
}

func (c *flakyConn) Write(p []byte) (int, error) {
	if c.budget < 0 || len(p) <= c.budget {
		if c.budget >= 0 {
			c.budget -= len(p)
		}
		return c.captureConn.Write(p)
	}
	n, _ := c.captureConn.Write(p[:c.budget])
	c.budget = 0
	return n, timeoutErr{}
}

func (c *flakyConn) Read(p []byte) (int, error) {
	c.failNow = !c.failNow
	if c.failNow {
		return 0, timeoutErr{}
	}
	return c.captureConn.Read(p[:min(len(p), c.step)])
}
