package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// ProcCPU returns the user plus system CPU time process pid has used so
// far, from /proc/PID/stat.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu of %d: %w", pid, err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/PID/stat line; the command name in parentheses may hold spaces.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed /proc stat line %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// After ")" come field 3 (state) onwards: utime is field 14, f[11].
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: short /proc stat line %q", b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat time %q: %w", s, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ProcPeakRSS returns process pid's peak resident set size in bytes
// (VmHWM in /proc/PID/status).
func ProcPeakRSS(pid int) (int64, error) {
	return procStatusBytes(pid, "VmHWM")
}

// ProcRSS returns process pid's current resident set size in bytes
// (VmRSS in /proc/PID/status).
func ProcRSS(pid int) (int64, error) {
	return procStatusBytes(pid, "VmRSS")
}

// procStatusBytes reads the kB field key of /proc/PID/status in bytes.
func procStatusBytes(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %s of %d: %w", key, pid, err)
	}
	return parseStatusBytes(b, key)
}

// parseStatusBytes finds the line "key: N kB" of a /proc/PID/status file
// and returns N KiB in bytes.
func parseStatusBytes(b []byte, key string) (int64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: malformed %s line %q", key, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: %s %q: %w", key, line, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("bench: no %s in /proc status", key)
}
