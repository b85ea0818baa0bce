package testnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// A request on the wire to a Target: an 8-byte header (seed u32, reply
// length u32, big endian), then Pattern(seed, n) until the client
// half-closes. The target checks every request byte, then writes
// Pattern(seed+1, reply length) and closes.
const headerLen = 8

// Target is a verifying server on a listener the test passes in.
type Target struct {
	mu   sync.Mutex
	errs []error
	ok   int
}

// ServeTarget serves ln until the test ends.
func ServeTarget(t testing.TB, ln net.Listener) *Target {
	tg := &Target{}
	ServeEach(t, ln, func(c net.Conn) { tg.record(serveOne(c)) })
	return tg
}

func (tg *Target) record(err error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if err != nil {
		tg.errs = append(tg.errs, err)
		return
	}
	tg.ok++
}

// Result returns how many requests verified and the errors of the rest.
func (tg *Target) Result() (ok int, err error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.ok, errors.Join(tg.errs...)
}

func serveOne(c net.Conn) error {
	defer c.Close()
	var h [headerLen]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return fmt.Errorf("target: header: %w", err)
	}
	seed, replyLen := binary.BigEndian.Uint32(h[:4]), binary.BigEndian.Uint32(h[4:])
	got, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("target: request: %w", err)
	}
	// The request length is implied by EOF; its content must match.
	if err := Compare(got, Pattern(seed, len(got))); err != nil {
		return fmt.Errorf("target: request of seed %d: %w", seed, err)
	}
	if _, err := c.Write(Pattern(seed+1, int(replyLen))); err != nil {
		return fmt.Errorf("target: reply: %w", err)
	}
	return nil
}

// Exchange sends a request of reqLen bytes for seed over c, half-closes,
// and checks the full reply of replyLen bytes. c must support CloseWrite.
func Exchange(c net.Conn, seed uint32, reqLen, replyLen int) error {
	var h [headerLen]byte
	binary.BigEndian.PutUint32(h[:4], seed)
	binary.BigEndian.PutUint32(h[4:], uint32(replyLen))
	errc := make(chan error, 1)
	go func() {
		if _, err := c.Write(h[:]); err != nil {
			errc <- fmt.Errorf("write header: %w", err)
			return
		}
		if _, err := c.Write(Pattern(seed, reqLen)); err != nil {
			errc <- fmt.Errorf("write request: %w", err)
			return
		}
		cw, ok := c.(interface{ CloseWrite() error })
		if !ok {
			errc <- fmt.Errorf("%T cannot half-close", c)
			return
		}
		errc <- cw.CloseWrite()
	}()
	rerr := ReadAllCompare(c, Pattern(seed+1, replyLen))
	werr := <-errc
	if werr != nil {
		return werr
	}
	if rerr != nil {
		return fmt.Errorf("reply of seed %d: %w", seed, rerr)
	}
	return nil
}

// ServeEach accepts on ln until the test ends and runs handle on each
// connection in a goroutine of its own, closing the connection after it.
// The cleanup closes ln and waits for every handle to return.
func ServeEach(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}
