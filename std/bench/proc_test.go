package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPUSumsUserAndSystem(t *testing.T) {
	// A command name with spaces and a parenthesis must not shift fields.
	line := "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 125 0 0 20 0 8 0 100 0 0"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3750 * time.Millisecond; got != want { // (250 + 125) ticks of 10 ms
		t.Errorf("cpu = %v, want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1")); err == nil {
		t.Error("a short stat line parsed without error")
	}
}

func TestParseStatusHWMAndRSSInBytes(t *testing.T) {
	status := "Name:\tserver\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\nRssAnon:\t   30000 kB\n"
	for key, want := range map[string]int64{"VmHWM": 50 << 20, "VmRSS": 40000 << 10} {
		if got, err := parseStatusBytes([]byte(status), key); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t40000\n", "VmRSS:\t4x kB\n"} {
		if _, err := parseStatusBytes([]byte(bad), "VmRSS"); err == nil {
			t.Errorf("status %q parsed without error", bad)
		}
	}
}

func TestProcReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	if _, err := ProcCPU(os.Getpid()); err != nil {
		t.Errorf("ProcCPU(self): %v", err)
	}
	if rss, err := ProcPeakRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("ProcPeakRSS(self) = %d, %v", rss, err)
	}
	if rss, err := ProcRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("ProcRSS(self) = %d, %v", rss, err)
	}
}
