//go:build linux

package faults

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// chunk is the unit of the slow target's replies.
const chunk = 16 << 10

// pattern returns n deterministic bytes for seed (xorshift).
func pattern(seed uint32, n int) []byte {
	b := make([]byte, n)
	x := seed*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// startTarget serves a target until the test ends. A request is a
// header (seed u32, chunks u32, pause ms u32), big endian; the reply is
// chunks chunks of pattern(seed+i, chunk), with a pause between them
// (a slow server), then the target closes.
func startTarget(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
				var h [12]byte
				if _, err := io.ReadFull(c, h[:]); err != nil {
					return
				}
				seed, n := binary.BigEndian.Uint32(h[0:]), int(binary.BigEndian.Uint32(h[4:]))
				pause := time.Duration(binary.BigEndian.Uint32(h[8:])) * time.Millisecond
				for i := range n {
					if i > 0 && pause > 0 {
						time.Sleep(pause) // the target is slow on purpose
					}
					if _, err := c.Write(pattern(seed+uint32(i), chunk)); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// ask sends a request for chunks chunks, pause apart.
func ask(c net.Conn, seed uint32, chunks int, pause time.Duration) error {
	var h [12]byte
	binary.BigEndian.PutUint32(h[0:], seed)
	binary.BigEndian.PutUint32(h[4:], uint32(chunks))
	binary.BigEndian.PutUint32(h[8:], uint32(pause/time.Millisecond))
	_, err := c.Write(h[:])
	return err
}

// readChunks reads and checks chunks from..to-1 of seed's reply.
func readChunks(c net.Conn, seed uint32, from, to int) error {
	buf := make([]byte, chunk)
	for i := from; i < to; i++ {
		if _, err := io.ReadFull(c, buf); err != nil {
			return fmt.Errorf("chunk %d of %d: %w", i, to, err)
		}
		want := pattern(seed+uint32(i), chunk)
		for j := range buf {
			if buf[j] != want[j] {
				return fmt.Errorf("chunk %d differs at byte %d", i, j)
			}
		}
	}
	return nil
}

// exchange asks for a short reply and checks it, within d.
func exchange(c net.Conn, seed uint32, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if err := ask(c, seed, 2, 0); err != nil {
		return err
	}
	if err := readChunks(c, seed, 0, 2); err != nil {
		return err
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return fmt.Errorf("after the reply: %d bytes, %v; want EOF", n, err)
	}
	return nil
}
