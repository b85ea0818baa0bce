package bench

import (
	"bytes"
	"errors"
	"testing"
)

func TestPatternPiecesMatchWhole(t *testing.T) {
	p := Pattern{Seed: 7}
	whole := make([]byte, 1000)
	p.Fill(whole, 0)
	// Filling from odd offsets in odd-sized pieces gives the same bytes.
	got := make([]byte, 1000)
	for off := 0; off < len(got); off += 13 {
		end := min(off+13, len(got))
		p.Fill(got[off:end], uint64(off))
	}
	if !bytes.Equal(got, whole) {
		t.Fatal("pattern filled in pieces differs from the whole")
	}
	if err := p.Check(whole[333:], 333); err != nil {
		t.Errorf("Check of the pattern's own bytes: %v", err)
	}
	other := make([]byte, 1000)
	Pattern{Seed: 8}.Fill(other, 0)
	if bytes.Equal(other, whole) {
		t.Error("seeds 7 and 8 give the same bytes")
	}
}

func TestCheckNamesFirstWrongByte(t *testing.T) {
	p := Pattern{Seed: 1}
	b := make([]byte, 10000)
	p.Fill(b, 100)
	b[5000] ^= 0x40
	b[6000] ^= 0x01
	err := p.Check(b, 100)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check of a flipped byte = %v, want a *CorruptError wrapping ErrCorrupt", err)
	}
	if ce.Offset != 5100 || ce.Got^ce.Want != 0x40 {
		t.Errorf("corruption reported at %d (%#x vs %#x), want offset 5100 with bit 0x40", ce.Offset, ce.Got, ce.Want)
	}
}
