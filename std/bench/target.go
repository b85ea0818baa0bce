package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// A request to the Target is a 16-byte header: the operation, three zero
// bytes, the pattern seed (u32 big endian) and a length (u64 big endian).
const (
	opDownload = 'D' // the target sends length bytes of Pattern{seed}, then closes
	opEcho     = 'E' // the target echoes everything until the client half-closes
	opSink     = 'U' // the target reads length bytes, checks them against Pattern{seed}, replies 1 byte: 1 ok, 0 corrupt
	headerLen  = 16
)

func encodeRequest(op byte, seed uint32, length uint64) []byte {
	h := make([]byte, headerLen)
	h[0] = op
	binary.BigEndian.PutUint32(h[4:], seed)
	binary.BigEndian.PutUint64(h[8:], length)
	return h
}

// Target serves the workloads' far end on a listener it is given: pattern
// downloads, echo and a verifying sink.
type Target struct {
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	errs   []error
	wg     sync.WaitGroup
}

// NewTarget returns a target for ln; call Serve to run it.
func NewTarget(ln net.Listener) *Target {
	return &Target{ln: ln, conns: make(map[net.Conn]struct{})}
}

// Addr is the listener's address.
func (t *Target) Addr() net.Addr { return t.ln.Addr() }

// Serve accepts connections until Close, then returns nil.
func (t *Target) Serve() error {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			t.mu.Lock()
			closed := t.closed
			t.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("bench: target accept: %w", err)
		}
		if !t.track(c) {
			c.Close()
			return nil
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer t.untrack(c)
			if err := serveRequest(c); err != nil {
				t.mu.Lock()
				t.errs = append(t.errs, err)
				t.mu.Unlock()
			}
		}()
	}
}

func (t *Target) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Target) untrack(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// SinkErrors returns the errors of sink requests whose bytes did not
// verify (download and echo errors are seen by the client side).
func (t *Target) SinkErrors() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Join(t.errs...)
}

// Close stops accepting, closes every open connection and waits for their
// handlers.
func (t *Target) Close() error {
	t.mu.Lock()
	t.closed = true
	err := t.ln.Close()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}

func serveRequest(c net.Conn) error {
	h := make([]byte, headerLen)
	if _, err := io.ReadFull(c, h); err != nil {
		return nil // a readiness dial or an aborted client: nothing to verify
	}
	seed := uint64(binary.BigEndian.Uint32(h[4:]))
	length := binary.BigEndian.Uint64(h[8:])
	switch h[0] {
	case opDownload:
		_ = sendPattern(c, Pattern{Seed: seed}, length)
		closeWrite(c)
	case opEcho:
		_, _ = io.Copy(c, c)
		closeWrite(c)
	case opSink:
		_, err := receivePattern(c, Pattern{Seed: seed}, length)
		ok := byte(1)
		if err != nil {
			ok = 0
		}
		_, _ = c.Write([]byte{ok})
		if errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("bench: sink: %w", err)
		}
	}
	return nil
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

const chunk = 64 << 10

// sendPattern writes length bytes of p to w.
func sendPattern(w io.Writer, p Pattern, length uint64) error {
	buf := make([]byte, chunk)
	for off := uint64(0); off < length; {
		n := min(uint64(len(buf)), length-off)
		p.Fill(buf[:n], off)
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// receivePattern reads exactly length bytes from r and checks them
// against p, returning how many verified; it reports ErrShort (wrapping
// the read error) when r ends early and a *CorruptError at the first
// wrong byte.
func receivePattern(r io.Reader, p Pattern, length uint64) (uint64, error) {
	buf := make([]byte, chunk)
	var off uint64
	for off < length {
		n := min(uint64(len(buf)), length-off)
		got, err := io.ReadFull(r, buf[:n])
		if cerr := p.Check(buf[:got], off); cerr != nil {
			return off, cerr
		}
		off += uint64(got)
		if err != nil {
			return off, fmt.Errorf("%w after %d of %d bytes: %w", ErrShort, off, length, err)
		}
	}
	return off, nil
}
