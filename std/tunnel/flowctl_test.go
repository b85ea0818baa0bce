package tunnel

import (
	"math"
	"net"
	"testing"
	"time"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/flow"
)

// The send control runs on every session by default and shows in the
// session table; --sendctl off leaves kcptun's fixed window.
func TestSendControlShowsInTheSessionTable(t *testing.T) {
	for _, tc := range []struct {
		sendctl   string
		wantPhase bool
	}{{config.SendCtlDelay, true}, {config.SendCtlOff, false}} {
		t.Run(tc.sendctl, func(t *testing.T) {
			p := startPair(t, pairSetup{both: func(c *config.Common) { c.SendCtl = tc.sendctl }})
			p.exchange(t, 3, 1000, 4<<20)
			infos := p.server.SessionInfos()
			if len(infos) == 0 {
				t.Fatal("no server session")
			}
			for _, si := range infos {
				switch {
				case tc.wantPhase && (si.SendPhase == "" || si.SendWnd < flow.MinWnd):
					t.Errorf("sendctl %s: phase %q window %d, want a phase and a window ≥ %d", tc.sendctl, si.SendPhase, si.SendWnd, flow.MinWnd)
				case !tc.wantPhase && (si.SendPhase != "" || si.SendWnd != 0):
					t.Errorf("sendctl off: phase %q window %d, want none", si.SendPhase, si.SendWnd)
				}
			}
		})
	}
}

// --sendctl rate runs the rate control on a fixed mode: its phases show
// in the session table, and every parity shard goes out (only --mode auto
// chooses the parity).
func TestRateControlOnAFixedMode(t *testing.T) {
	p := startPair(t, pairSetup{both: func(c *config.Common) {
		c.Mode, c.SendCtl = "fast3", config.SendCtlRate
		c.ApplyModePreset()
	}})
	p.exchange(t, 3, 1000, 4<<20)
	infos := p.server.SessionInfos()
	if len(infos) == 0 {
		t.Fatal("no server session")
	}
	p.server.layers.sessions.mu.Lock()
	for _, e := range p.server.layers.sessions.entries {
		if e.flow == nil || e.flow.rate == nil {
			t.Errorf("a server session runs without the rate control")
		}
	}
	p.server.layers.sessions.mu.Unlock()
	for _, si := range infos {
		switch flow.Phase(si.SendPhase) {
		case flow.PhaseStartup, flow.PhaseDrain, flow.PhaseProbe:
		default:
			t.Errorf("phase %q, want one of the rate control's (startup, drain, probe)", si.SendPhase)
		}
		if si.Parity != 3 || si.ParityMax != 3 || si.RcvWnd < flow.RecvFloor {
			t.Errorf("parity %d/%d rcvwnd %d; want 3/3 (only --mode auto chooses the parity) and the receive window sized, from %d", si.Parity, si.ParityMax, si.RcvWnd, flow.RecvFloor)
		}
	}
}

// By default (fast3's FEC and aes) the delay control runs on a SealConn,
// so that acknowledged segments above a hole do not hold places in its
// window (flowTuner.resize); with aes-128-gcm, which kcp-go seals itself,
// it runs without one, and the transfer works either way.
func TestDelayControlReadsTheACKsWhereItCan(t *testing.T) {
	for _, tc := range []struct {
		crypt string
		seal  bool
	}{{"aes", true}, {"aes-128-gcm", false}} {
		t.Run(tc.crypt, func(t *testing.T) {
			p := startPair(t, pairSetup{both: func(c *config.Common) {
				c.Mode, c.Crypt = "fast3", tc.crypt
				c.ApplyModePreset()
			}})
			p.exchange(t, 2, 1000, 1<<20)
			for role, l := range map[string]*layers{"client": p.client.layers, "server": p.server.layers} {
				l.sessions.mu.Lock()
				for _, e := range l.sessions.entries {
					if e.flow == nil || e.flow.ctl == nil || e.flow.rate != nil || (e.flow.parity != nil) != tc.seal {
						t.Errorf("%s %s: want the delay control, on a SealConn: %v", tc.crypt, role, tc.seal)
					}
				}
				l.sessions.mu.Unlock()
			}
		})
	}
}

// Every send control sizes the receive window and shows it; --mode auto
// also shows, on both ends, the parity it sends and the residual loss
// that chose it, where a fixed mode sends every shard. The client's
// requests, a thin session's data, went twice.
func TestAutoModeShowsItsDecisionsInTheSessionTable(t *testing.T) {
	for _, mode := range []string{config.ModeAuto, "fast3"} {
		t.Run(mode, func(t *testing.T) {
			p := startPair(t, pairSetup{both: func(c *config.Common) {
				c.Mode = mode
				c.ApplyModePreset()
			}})
			p.exchange(t, 3, 1000, 4<<20)
			for role, infos := range map[string][]SessionInfo{"client": p.client.SessionInfos(), "server": p.server.SessionInfos()} {
				if len(infos) == 0 {
					t.Fatalf("no %s session", role)
				}
				for _, si := range infos {
					auto := si.RcvWnd >= flow.RecvFloor && si.ParityMax == 3 && si.Parity >= 0 && si.Parity <= 3
					fixed := si.RcvWnd >= flow.RecvFloor && si.ParityMax == 3 && si.Parity == 3 // every shard
					if mode == config.ModeAuto && !auto || mode != config.ModeAuto && !fixed {
						t.Errorf("%s %s: rcvwnd %d parity %d/%d loss %.3f", mode, role, si.RcvWnd, si.Parity, si.ParityMax, si.Loss)
					}
					if role == "client" && si.Dups == 0 {
						t.Errorf("%s client: its requests (a thin session) went once; want each data packet twice", mode)
					}
				}
			}
		})
	}
}

// discardConn takes every write at once.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// The pacer holds writes to the rate the controller chose: after the
// first paceBurst bytes, n bytes take at least n / rate. (Only a lower
// bound is asserted: a slow machine can make it slower, never faster.)
func TestWriteTimerPacesWritesAndCountsTheWait(t *testing.T) {
	const rate = 1 << 20 // bytes per second
	w := &writeTimer{Conn: discardConn{}}
	w.pace.Store(math.Float64bits(rate))
	chunk := make([]byte, 8<<10)
	const total = paceBurst + 128<<10
	start := time.Now()
	for sent := 0; sent < total; sent += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	// The last write may start as soon as the bytes before it are paid.
	min := time.Duration(float64(total-paceBurst-len(chunk)) / rate * float64(time.Second))
	if elapsed < min {
		t.Errorf("%d bytes at %d B/s took %v, want ≥ %v", total, rate, elapsed, min)
	}
	// The time between writes is not counted, and shortens the next
	// wait by as much: nearly all of it, not all.
	if blocked, want := time.Duration(w.blocked.Load()), min*9/10; blocked < want {
		t.Errorf("blocked time %v, want ≥ %v (the pacer's wait counts as held back)", blocked, want)
	}

	// Unpaced, the same writes do not wait.
	w = &writeTimer{Conn: discardConn{}}
	start = time.Now()
	for sent := 0; sent < total; sent += len(chunk) {
		w.Write(chunk)
	}
	if elapsed := time.Since(start); elapsed >= min {
		t.Errorf("unpaced writes took %v, want well under %v", elapsed, min)
	}
}
