package stream

import (
	"errors"
	"testing"
	"time"
)

func TestSmuxConfigUsesKcptunValues(t *testing.T) {
	c, err := SmuxConfig(2, 4194304, 2097152, 10*time.Second)
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
		if _, err := SmuxConfig(tc.version, tc.recv, tc.stream, tc.keepAlive); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := SmuxConfig(1, 4194304, 2097152, 30*time.Second); !errors.Is(err, ErrSmuxKeepAlive) {
		t.Errorf("keepalive 30 s: err = %v, want ErrSmuxKeepAlive", err)
	}
}
