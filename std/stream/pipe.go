package stream

import (
	"cmp"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The copy buffers of a Pipe direction. It reads into a small buffer of
// its own until a read fills it, then into a large one from a pool, which
// it gives back after a read that does not fill it (the source had no
// more waiting, so the next read may wait). An idle connection (a shell,
// a chat, a keep-alive) waits in Read with the small buffer, so it holds
// 2 × pipeSmallBuf rather than 2 × pipeBufSize; a bulk copy whose reads
// come back full reads pipeBufSize at a time, as before.
const (
	pipeBufSize  = 32 << 10
	pipeSmallBuf = 4 << 10
)

var pipeBufs = sync.Pool{New: func() any {
	b := make([]byte, pipeBufSize)
	return &b
}}

// errInvalidWrite reports a Write that claimed more than it was given.
var errInvalidWrite = errors.New("stream: invalid write result")

// Pipe copies a to b and b to a until both directions have ended, then
// closes both conns. When one direction reads EOF, the conn it writes to
// is half-closed with CloseWrite() if it has that method (TCP, unix,
// smux streams, QPP over those), so the peer sees EOF and can still reply;
// a conn without CloseWrite is closed outright, as kcptun does. A real
// error in either direction closes both conns at once, ending the other
// copy; a smux stream is then aborted (CloseWrite, then Close: see
// FinWatch), so that its peer stops sending too. Pipe returns the bytes
// copied each way and the first real error (nil when both directions
// ended with EOF).
func Pipe(a, b net.Conn) (aToB, bToA int64, err error) {
	return PipeUntil(a, b, nil, 0)
}

// PipeUntil is Pipe, but when stop closes it stops copying a to b: b's
// peer has aborted (see FinWatch) and reads no more. A Read of a or a
// Write to b that waits gives up at once (through their deadlines), and
// b is not half-closed; the copy of b to a goes on to b's EOF, so what
// b's peer sent before it aborted still reaches a. When that ends, a is
// closed; with what a sent still unread, a TCP peer then gets a reset.
// A chunk over 0 is the most each Read of a takes (up to pipeBufSize):
// b's frame size (see FrameSize), so that a full read is one whole frame
// and not a frame and a sliver.
func PipeUntil(a, b net.Conn, stop <-chan struct{}, chunk int) (aToB, bToA int64, err error) {
	p := &pipe{a: a, b: b}
	done := make(chan struct{})
	go func() {
		defer close(done)
		bToA = p.copyHalf(a, b, 0)
	}()
	if stop != nil {
		ended := make(chan struct{})
		defer close(ended)
		go func() {
			select {
			case <-stop:
				p.stopAToB()
			case <-ended:
			}
		}()
	}
	aToB = p.copyHalf(b, a, chunk)
	<-done
	p.closeBoth()
	if e := p.err.Load(); e != nil {
		err = *e
	}
	return aToB, bToA, err
}

type pipe struct {
	a, b      net.Conn
	stopped   atomic.Bool // the copy of a to b was stopped (PipeUntil)
	closed    atomic.Bool // Pipe closed a conn: later errors are its echo
	err       atomic.Pointer[error]
	closeOnce sync.Once
}

// stopAToB ends the copy of a to b (see PipeUntil).
func (p *pipe) stopAToB() {
	p.stopped.Store(true)
	now := time.Now()
	p.a.SetReadDeadline(now)
	p.b.SetWriteDeadline(now)
}

// copyHalf copies src to dst, reading at most chunk bytes at a time (0:
// pipeBufSize), then half-closes dst (or, on error, both).
func (p *pipe) copyHalf(dst, src net.Conn, chunk int) int64 {
	c := copier{small: make([]byte, pipeSmallBuf), chunk: chunk}
	defer c.release()
	n, err := c.copy(dst, src)
	if src == p.a && p.stopped.Load() {
		return n // dst's peer is gone: nothing to half-close, no error
	}
	if err == nil {
		err = p.endWrite(dst)
	}
	if err != nil {
		p.fail(err)
	}
	return n
}

// copier is one direction's copy loop with its buffers (see pipeSmallBuf).
type copier struct {
	small []byte
	big   *[]byte // from pipeBufs while reads fill what they are given
	chunk int     // the most a read of the large buffer takes (0: all of it)
}

// copy copies src to dst until src's EOF (a nil error) or an error, as
// io.Copy does, but with the buffer that suits the last read. It calls
// Read and Write only: a ReaderFrom or WriterTo would bring its own
// buffer (net.TCPConn's falls back to io.Copy with a fresh 32 KiB one
// when the other side is not a socket).
func (c *copier) copy(dst io.Writer, src io.Reader) (written int64, err error) {
	for {
		buf := c.buf()
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			if nw < 0 || nw > nr {
				nw, werr = 0, cmp.Or(werr, errInvalidWrite)
			}
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
			if nw != nr {
				return written, io.ErrShortWrite
			}
		}
		c.resize(nr, len(buf))
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// buf is the buffer for the next read.
func (c *copier) buf() []byte {
	if c.big != nil {
		if b := *c.big; c.chunk > 0 && c.chunk < len(b) {
			return b[:c.chunk]
		}
		return *c.big
	}
	return c.small
}

// resize picks the buffer for the next read after one that returned n of
// size bytes: the large one after a read that filled the small one, the
// small one after a read that did not fill the large one.
func (c *copier) resize(n, size int) {
	switch {
	case n < size:
		c.release()
	case c.big == nil:
		c.big = pipeBufs.Get().(*[]byte)
	}
}

// release gives the large buffer back to the pool.
func (c *copier) release() {
	if c.big != nil {
		pipeBufs.Put(c.big)
		c.big = nil
	}
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
// aborts both conns (see Abort): a smux peer must not take the end for a
// half-close and go on sending what nobody will read.
func (p *pipe) fail(err error) {
	if !p.closed.Load() {
		p.err.CompareAndSwap(nil, &err)
	}
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		Abort(p.a)
		Abort(p.b)
	})
}

func (p *pipe) closeBoth() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.a.Close()
		p.b.Close()
	})
}
