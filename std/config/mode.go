package config

// ModeManual takes nodelay, interval, resend and nc from their own flags.
const ModeManual = "manual"

// ModeAuto tunes at run time: fast3's nodelay, interval, resend and nc as
// the start, windows sized from the measured bandwidth-delay product up to
// AutoWnd, and the parity the sender spends chosen from the loss it sees
// (see package flow). It needs no matching setting on the peer: a kcptun
// peer keeps its fixed settings.
const ModeAuto = "auto"

// AutoWnd is the window ceiling the run-time sizing (any send control:
// --sendctl delay, the default, or rate, and --mode auto) uses in place of
// a role's default --sndwnd and --rcvwnd: 4096 segments, about 5 MB per
// session at the most, held only while a transfer needs it.
const AutoWnd = 4096

type modePreset struct{ nodelay, interval, resend, nc int }

// presetOf returns kcptun's --mode profile (wire.md §3).
func presetOf(mode string) (modePreset, bool) {
	switch mode {
	case "normal":
		return modePreset{0, 40, 2, 1}, true
	case "fast":
		return modePreset{0, 30, 2, 1}, true
	case "fast2":
		return modePreset{1, 20, 2, 1}, true
	case "fast3", ModeAuto:
		return modePreset{1, 10, 2, 1}, true
	}
	return modePreset{}, false
}

// ModeNames lists the accepted --mode values in kcptun's order.
func ModeNames() []string {
	return []string{"fast3", "fast2", "fast", "normal", ModeManual, ModeAuto}
}

// ValidMode reports whether mode is an accepted --mode value.
func ValidMode(mode string) bool {
	_, ok := presetOf(mode)
	return ok || mode == ModeManual
}

// ModePreset returns the KCP nodelay, interval (ms), resend and nc values of
// a --mode profile. ok is false for "manual" (which keeps the values of the
// hidden flags) and for unknown modes.
func ModePreset(mode string) (nodelay, interval, resend, nc int, ok bool) {
	p, ok := presetOf(mode)
	return p.nodelay, p.interval, p.resend, p.nc, ok
}

// ApplyModePreset overwrites NoDelay, Interval, Resend and NoCongestion
// with the preset of c.Mode (auto starts from fast3's); manual and
// unknown modes leave them as they are. The Load functions and apps do this after the JSON file; call it on
// a DefaultClient or DefaultServer built in code.
func (c *Common) ApplyModePreset() {
	if p, ok := presetOf(c.Mode); ok {
		c.NoDelay, c.Interval, c.Resend, c.NoCongestion = p.nodelay, p.interval, p.resend, p.nc
	}
}

// Auto reports whether c.Mode is ModeAuto.
func (c *Common) Auto() bool { return c.Mode == ModeAuto }

// applyWindowCeilings raises to AutoWnd the windows that are still the
// role's defaults (def) when a send control sizes the windows at run time
// (--sendctl delay or rate, --mode auto): these become its ceilings. A
// window given on the command line or in the JSON file stays the ceiling
// as given, and --sendctl off keeps kcptun's fixed windows.
//
// kcptun's defaults (a client receives into 512 segments) hold a lossy
// path back: KCP's window spans from the first segment not acknowledged,
// and a loss FEC cannot repair takes two round trips or more to fill, so
// on a 20 Mbit/s path at 200 ms the sender stalls at the window's edge
// while it waits.
func (c *Common) applyWindowCeilings(def Common) {
	if c.SendCtl == SendCtlOff {
		return
	}
	if c.SndWnd == def.SndWnd {
		c.SndWnd = max(c.SndWnd, AutoWnd)
	}
	if c.RcvWnd == def.RcvWnd {
		c.RcvWnd = max(c.RcvWnd, AutoWnd)
	}
}
