package app

import (
	"runtime/debug"
	"testing"
)

// A tunnel keeps its heap within half its live size (GOGC=50), unless
// the user set GOGC, which is left as the runtime read it.
func TestGCTargetIsHalfUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	setGCTarget(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC target %d with GOGC unset, want %d", got, gcPercent)
	}
	user := func(k string) string {
		if k == "GOGC" {
			return "200"
		}
		return ""
	}
	debug.SetGCPercent(200) // as the runtime read it from GOGC=200
	if prev := setGCTarget(user); prev != -2 {
		t.Errorf("setGCTarget returned %d with GOGC set, want -2 (untouched)", prev)
	}
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GC target %d with GOGC=200 set, want 200", got)
	}
}
