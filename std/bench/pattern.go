package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Pattern is the deterministic, incompressible byte stream the target
// sends for a seed: byte p is byte p%8 of splitmix64(seed, p/8), so any
// stretch can be generated or checked without the bytes before it.
type Pattern struct {
	Seed uint64
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (p Pattern) word(i uint64) uint64 {
	return splitmix64(p.Seed*0x2545f4914f6cdd1d + i)
}

// Fill writes the pattern's bytes at offsets [off, off+len(b)) into b.
func (p Pattern) Fill(b []byte, off uint64) {
	var w [8]byte
	for len(b) > 0 {
		i, r := off/8, off%8
		if r == 0 && len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, p.word(i))
			b, off = b[8:], off+8
			continue
		}
		binary.LittleEndian.PutUint64(w[:], p.word(i))
		n := copy(b, w[r:])
		b, off = b[n:], off+uint64(n)
	}
}

// CorruptError reports the first byte that differs from the pattern.
type CorruptError struct {
	Offset    uint64
	Got, Want byte
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("bench: byte %d is %#02x, want %#02x: %v", e.Offset, e.Got, e.Want, ErrCorrupt)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// Check compares b with the pattern at offset off and returns a
// *CorruptError for the first difference.
func (p Pattern) Check(b []byte, off uint64) error {
	var want [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(want))
		p.Fill(want[:n], off)
		if bytes.Equal(b[:n], want[:n]) {
			b, off = b[n:], off+uint64(n)
			continue
		}
		for i := range n {
			if b[i] != want[i] {
				return &CorruptError{Offset: off + uint64(i), Got: b[i], Want: want[i]}
			}
		}
		b, off = b[n:], off+uint64(n)
	}
	return nil
}
