package stream

import (
	"errors"
	"testing"
	"time"
)

func TestSmuxConfigUsesKcptunValues(t *testing.T) {
	c, err := SmuxConfig(2, 4194304, 2097152, 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || c.MaxReceiveBuffer != 4194304 || c.MaxStreamBuffer != 2097152 ||
		c.KeepAliveInterval != 10*time.Second || c.KeepAliveTimeout != 30*time.Second ||
		c.MaxFrameSize != 32768 || c.KeepAliveDisabled {
		t.Fatalf("config %+v", c)
	}
}

func TestSmuxConfigRejectsBadValues(t *testing.T) {
	cases := []struct {
		name                  string
		version, recv, stream int
		keepAlive             time.Duration
	}{
		{"version 3", 3, 4194304, 2097152, 10 * time.Second},
		{"version 0", 0, 4194304, 2097152, 10 * time.Second},
		{"streambuf above smuxbuf", 1, 1024, 2048, 10 * time.Second},
		{"zero smuxbuf", 1, 0, 0, 10 * time.Second},
		{"keepalive 0", 1, 4194304, 2097152, 0},
		{"keepalive negative", 1, 4194304, 2097152, -time.Second},
		{"keepalive at the timeout", 1, 4194304, 2097152, 30 * time.Second},
	}
	for _, tc := range cases {
		if _, err := SmuxConfig(tc.version, tc.recv, tc.stream, tc.keepAlive, 0); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := SmuxConfig(1, 4194304, 2097152, 30*time.Second, 0); !errors.Is(err, ErrSmuxKeepAlive) {
		t.Errorf("keepalive 30 s: err = %v, want ErrSmuxKeepAlive", err)
	}
}

// FrameSize fills whole segments: a frame with its smux header (and,
// compressed, its snappy chunk header) is a whole number of segments,
// no larger than kcptun's 32768 and less than a segment below it.
func TestFrameSizeFillsWholeSegments(t *testing.T) {
	if got := FrameSize(1298, true); got != 25*1298-16 {
		t.Errorf("FrameSize(1298, snappy) = %d, want %d (kcptun's defaults with aes)", got, 25*1298-16)
	}
	for _, snappy := range []bool{false, true} {
		overhead := 8
		if snappy {
			overhead = 16
		}
		for seg := 100; seg <= 1500; seg++ {
			f := FrameSize(seg, snappy)
			if (f+overhead)%seg != 0 || f > SmuxMaxFrameSize || f <= SmuxMaxFrameSize-seg {
				t.Fatalf("FrameSize(%d, %v) = %d: %d bytes with headers, not whole segments up to %d", seg, snappy, f, f+overhead, SmuxMaxFrameSize)
			}
		}
	}
	for _, seg := range []int{0, -1, SmuxMaxFrameSize + 1} {
		if got := FrameSize(seg, true); got != SmuxMaxFrameSize {
			t.Errorf("FrameSize(%d) = %d, want %d", seg, got, SmuxMaxFrameSize)
		}
	}
}
