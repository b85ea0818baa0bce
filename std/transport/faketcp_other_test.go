//go:build !linux

package transport

import (
	"errors"
	"testing"
)

func TestFakeTCPIsLinuxOnly(t *testing.T) {
	if _, err := NewFakeTCP(); !errors.Is(err, ErrFakeTCPUnsupported) {
		t.Fatalf("NewFakeTCP: %v, want %v", err, ErrFakeTCPUnsupported)
	}
}
