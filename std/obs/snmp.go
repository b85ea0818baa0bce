package obs

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

// SnmpColumns are the counters of kcptun v20240729's CSV, in its order.
// Newer kcp-go releases carry more counters; the CSV keeps exactly these.
var SnmpColumns = []string{
	"BytesSent", "BytesReceived", "MaxConn", "ActiveOpens", "PassiveOpens",
	"CurrEstab", "InErrs", "InCsumErrors", "KCPInErrors", "InPkts", "OutPkts",
	"InSegs", "OutSegs", "InBytes", "OutBytes", "RetransSegs",
	"FastRetransSegs", "EarlyRetransSegs", "LostSegs", "RepeatSegs",
	"FECParityShards", "FECErrs", "FECRecovered", "FECShortShards",
}

// snmpLineOrder is the field order of kcp-go's Snmp struct as kcptun
// v20240729 linked it: its SIGUSR1 line is log.Printf("KCP SNMP:%+v", ...),
// which prints the struct fields, and there the four FEC counters come in
// an order other than the CSV header's.
var snmpLineOrder = []string{
	"BytesSent", "BytesReceived", "MaxConn", "ActiveOpens", "PassiveOpens",
	"CurrEstab", "InErrs", "InCsumErrors", "KCPInErrors", "InPkts", "OutPkts",
	"InSegs", "OutSegs", "InBytes", "OutBytes", "RetransSegs",
	"FastRetransSegs", "EarlyRetransSegs", "LostSegs", "RepeatSegs",
	"FECRecovered", "FECErrs", "FECParityShards", "FECShortShards",
}

// snmpValues returns the counters of s named by names, in that order; a
// counter this kcp-go lacks (FECShortShards) reads 0.
func snmpValues(s *kcp.Snmp, names []string) []string {
	byName := make(map[string]string, len(names))
	header, values := s.Header(), s.ToSlice()
	for i, h := range header {
		byName[h] = values[i]
	}
	out := make([]string, len(names))
	for i, name := range names {
		if v, ok := byName[name]; ok {
			out[i] = v
		} else {
			out[i] = "0"
		}
	}
	return out
}

// SnmpLine is the line kcptun logs on SIGUSR1:
// "KCP SNMP:&{BytesSent:1 BytesReceived:2 ... FECShortShards:0}".
func SnmpLine(s *kcp.Snmp) string {
	var b strings.Builder
	b.WriteString("KCP SNMP:&{")
	for i, v := range snmpValues(s, snmpLineOrder) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(snmpLineOrder[i])
		b.WriteByte(':')
		b.WriteString(v)
	}
	b.WriteByte('}')
	return b.String()
}

// SnmpFileName formats the file-name part of path as a Go time layout
// (snmp-20060102.log → snmp-20261125.log); the directory is kept as is.
func SnmpFileName(path string, now time.Time) string {
	dir, file := filepath.Split(path)
	return dir + now.Format(file)
}

// AppendSnmpRow appends one CSV row (and the header, if the file is empty)
// to the file that path names at time now.
func AppendSnmpRow(path string, now time.Time, s *kcp.Snmp) error {
	f, err := os.OpenFile(SnmpFileName(path, now), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("snmplog: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		w.Write(append([]string{"Unix"}, SnmpColumns...))
	}
	w.Write(append([]string{fmt.Sprint(now.Unix())}, snmpValues(s, SnmpColumns)...))
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("snmplog: %w", err)
	}
	return nil
}

// RunSnmpLog appends a row of kcp.DefaultSnmp every period until ctx ends.
func RunSnmpLog(ctx context.Context, path string, period time.Duration, log *slog.Logger) {
	if path == "" || period <= 0 {
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := AppendSnmpRow(path, now, kcp.DefaultSnmp.Copy()); err != nil {
				log.Error("cannot write SNMP log", "err", err)
			}
		}
	}
}
