package tunnel

import (
	"testing"

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
				case tc.wantPhase && (si.SendPhase == "" || si.SendWnd < flow.DefaultMinWnd):
					t.Errorf("sendctl %s: phase %q window %d, want a phase and a window ≥ %d", tc.sendctl, si.SendPhase, si.SendWnd, flow.DefaultMinWnd)
				case !tc.wantPhase && (si.SendPhase != "" || si.SendWnd != 0):
					t.Errorf("sendctl off: phase %q window %d, want none", si.SendPhase, si.SendWnd)
				}
			}
		})
	}
}
