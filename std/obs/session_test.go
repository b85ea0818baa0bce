package obs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

func TestLogSnapshotLogsSnmpLineThenOneLinePerSession(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo)
	snmp := &kcp.Snmp{RetransSegs: 17, FECRecovered: 5, LostSegs: 9}
	LogSnapshot(log, snmp, []SessionInfo{
		{Remote: "10.0.0.1:29900", Conv: 42, Age: 90 * time.Second, SRTT: 31 * time.Millisecond,
			RTO: 230 * time.Millisecond, Streams: 2, BytesIn: 1234, BytesOut: 5678,
			SendPhase: "steady", SendWnd: 301, QDelay: 14 * time.Millisecond, Dups: 37,
			Parity: 0, ParityMax: 3, Loss: 0.032, Repairable: 0.06},
	})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], `msg="KCP SNMP:&{BytesSent:0 `) {
		t.Errorf("first line is not the KCP SNMP line: %s", lines[0])
	}
	if !strings.Contains(lines[1], "msg=sessions count=1 retrans_segs=17 fec_recovered=5") {
		t.Errorf("second line is not the table head (sessions, retransmitted and FEC-recovered segments): %s", lines[1])
	}
	for _, want := range []string{"remote=10.0.0.1:29900", "conv=42", "age=1m30s", "srtt=31ms",
		"rto=230ms", "streams=2", "bytes_in=1234", "bytes_out=5678", "send=steady", "sndwnd=301", "qdelay=14ms", "dup=37",
		"parity=0/3", "loss=3.20%", "repairable=6%"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("session line lacks %s: %s", want, lines[2])
		}
	}
}

// A session whose loss pattern is not known yet, or that has no parity
// to choose, shows "?" for what FEC could repair, not 0 %.
func TestLogSnapshotShowsAnUnknownRepairableShare(t *testing.T) {
	for _, si := range []SessionInfo{{ParityMax: 3, Repairable: -1}, {ParityMax: 0}} {
		var buf bytes.Buffer
		LogSnapshot(NewLogger(&buf, slog.LevelInfo), &kcp.Snmp{}, []SessionInfo{si})
		if !strings.Contains(buf.String(), "repairable=?") {
			t.Errorf("%+v: session line lacks repairable=?: %s", si, buf.String())
		}
	}
}
