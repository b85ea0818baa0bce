package stream

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"

	"github.com/xtaci/qpp"
)

// ErrQPPCount is returned by NewQPP for a pad count outside 1..65535.
var ErrQPPCount = errors.New("QPP pad count must be between 1 and 65535")

// qppChunk bounds the scratch buffer a write encrypts into.
const qppChunk = 64 << 10

// QPP holds the permutation pads of one (raw key, count) pair. Building
// them is expensive, so a process builds one QPP and shares it: the pads
// are read-only and every wrapped conn has its own PRNGs.
type QPP struct {
	pads *qpp.QuantumPermutationPad
	prng qpp.Rand // the state qpp.CreatePRNG(key) starts from, copied per direction
}

// NewQPP builds the pads as kcptun v20240729 does with
// github.com/xtaci/qpp v1.1.18: qpp.NewQPP(raw key bytes, count). The key
// is the raw --key string, not the PBKDF2-derived key.
func NewQPP(key string, count int) (*QPP, error) {
	if count < 1 || count > math.MaxUint16 {
		return nil, fmt.Errorf("%w: got %d", ErrQPPCount, count)
	}
	return &QPP{
		pads: qpp.NewQPP([]byte(key), uint16(count)),
		prng: *qpp.CreatePRNG([]byte(key)),
	}, nil
}

// Wrap returns a conn that encrypts what is written to c and decrypts what
// is read from it, each direction with its own PRNG starting at the key's
// initial state (what qpp.CreatePRNG(key) returns), as kcptun does per
// smux stream. Write does not modify the caller's buffer. If c has
// CloseWrite() error, so has the returned conn.
func (q *QPP) Wrap(c net.Conn) net.Conn {
	qc := &qppConn{Conn: c, pads: q.pads, rx: q.prng, tx: q.prng}
	if cw, ok := c.(closeWriter); ok {
		return &qppHalfCloser{qppConn: qc, cw: cw}
	}
	return qc
}

type closeWriter interface {
	CloseWrite() error
}

// qppConn applies QPP to the payload of c. Reads and writes are each
// serialised, since each direction's PRNG is position dependent.
type qppConn struct {
	net.Conn
	pads *qpp.QuantumPermutationPad
	rmu  sync.Mutex
	rx   qpp.Rand
	wmu  sync.Mutex
	tx   qpp.Rand
	wbuf []byte
}

func (c *qppConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.pads.DecryptWithPRNG(p[:n], &c.rx)
	}
	return n, err
}

// Write encrypts a copy of p. When c accepts only part of it, the PRNG is
// set to just after the accepted bytes, so the stream stays decryptable
// if the caller writes the rest again.
func (c *qppConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), qppChunk)]
		if cap(c.wbuf) < len(chunk) {
			c.wbuf = make([]byte, len(chunk), min(max(2*len(chunk), 4096), qppChunk))
		}
		buf := c.wbuf[:len(chunk)]
		copy(buf, chunk)
		before := c.tx
		c.pads.EncryptWithPRNG(buf, &c.tx)
		k, err := c.Conn.Write(buf)
		written += k
		if err == nil && k < len(buf) {
			err = io.ErrShortWrite
		}
		if err != nil {
			c.tx = before
			c.pads.EncryptWithPRNG(buf[:k], &c.tx) // advance by what was sent
			return written, err
		}
		p = p[len(chunk):]
	}
	return written, nil
}

// qppHalfCloser is a qppConn over a conn with CloseWrite.
type qppHalfCloser struct {
	*qppConn
	cw closeWriter
}

func (c *qppHalfCloser) CloseWrite() error { return c.cw.CloseWrite() }
