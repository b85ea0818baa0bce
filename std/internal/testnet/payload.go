package testnet

import (
	"bytes"
	"fmt"
	"io"
)

// Pattern returns n deterministic bytes for seed: byte i depends on seed
// and i, so a shifted, truncated or foreign stream does not match.
func Pattern(seed uint32, n int) []byte {
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

// ReadAllCompare reads r to EOF and reports the first difference from want.
func ReadAllCompare(r io.Reader, want []byte) error {
	got, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read after %d bytes: %w", len(got), err)
	}
	return Compare(got, want)
}

// Compare reports where got and want first differ.
func Compare(got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			return fmt.Errorf("byte %d differs (got %d bytes, want %d)", i, len(got), len(want))
		}
	}
	return fmt.Errorf("length differs: got %d bytes, want %d", len(got), len(want))
}
