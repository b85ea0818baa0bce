package config

// ModeManual takes nodelay, interval, resend and nc from their own flags.
const ModeManual = "manual"

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
	case "fast3":
		return modePreset{1, 10, 2, 1}, true
	}
	return modePreset{}, false
}

// ModeNames lists the accepted --mode values in kcptun's order.
func ModeNames() []string {
	return []string{"fast3", "fast2", "fast", "normal", ModeManual}
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
// with the preset of c.Mode; manual and unknown modes leave them as they
// are. The Load functions and apps do this after the JSON file; call it on
// a DefaultClient or DefaultServer built in code.
func (c *Common) ApplyModePreset() {
	if p, ok := presetOf(c.Mode); ok {
		c.NoDelay, c.Interval, c.Resend, c.NoCongestion = p.nodelay, p.interval, p.resend, p.nc
	}
}
