package stream

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// pipeBufSize is the copy buffer of each Pipe direction.
const pipeBufSize = 32 << 10

var pipeBufs = sync.Pool{New: func() any {
	b := make([]byte, pipeBufSize)
	return &b
}}

// Pipe copies a to b and b to a until both directions have ended, then
// closes both conns. When one direction reads EOF, the conn it writes to
// is half-closed with CloseWrite() if it has that method (TCP, unix,
// smux streams, QPP over those), so the peer sees EOF and can still reply;
// a conn without CloseWrite is closed outright, as kcptun does. A real
// error in either direction closes both conns at once, ending the other
// copy. Pipe returns the bytes copied each way and the first real error
// (nil when both directions ended with EOF).
func Pipe(a, b net.Conn) (aToB, bToA int64, err error) {
	p := &pipe{a: a, b: b}
	done := make(chan struct{})
	go func() {
		defer close(done)
		bToA = p.copyHalf(a, b)
	}()
	aToB = p.copyHalf(b, a)
	<-done
	p.closeBoth()
	if e := p.err.Load(); e != nil {
		err = *e
	}
	return aToB, bToA, err
}

type pipe struct {
	a, b      net.Conn
	closed    atomic.Bool // Pipe closed a conn: later errors are its echo
	err       atomic.Pointer[error]
	closeOnce sync.Once
}

// copyHalf copies src to dst, then half-closes dst (or, on error, both).
func (p *pipe) copyHalf(dst, src net.Conn) int64 {
	bufp := pipeBufs.Get().(*[]byte)
	defer pipeBufs.Put(bufp)
	// Hide ReaderFrom/WriterTo: net.TCPConn's fall back to io.Copy with
	// a fresh 32 KiB buffer when the other side is not a socket.
	n, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *bufp)
	if err == nil {
		err = p.endWrite(dst)
	}
	if err != nil {
		p.fail(err)
	}
	return n
}

// endWrite signals EOF to dst's peer.
func (p *pipe) endWrite(dst net.Conn) error {
	if cw, ok := dst.(closeWriter); ok {
		return cw.CloseWrite()
	}
	p.closed.Store(true)
	dst.Close()
	return nil
}

// fail records err unless it follows a close done by Pipe itself, then
// closes both conns.
func (p *pipe) fail(err error) {
	if !p.closed.Load() {
		p.err.CompareAndSwap(nil, &err)
	}
	p.closeBoth()
}

func (p *pipe) closeBoth() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.a.Close()
		p.b.Close()
	})
}
