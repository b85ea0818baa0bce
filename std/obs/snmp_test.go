package obs

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

// wireHeader is the CSV header of wire.md §11, byte for byte.
const wireHeader = "Unix,BytesSent,BytesReceived,MaxConn,ActiveOpens,PassiveOpens,CurrEstab,InErrs,InCsumErrors,KCPInErrors,InPkts,OutPkts,InSegs,OutSegs,InBytes,OutBytes,RetransSegs,FastRetransSegs,EarlyRetransSegs,LostSegs,RepeatSegs,FECParityShards,FECErrs,FECRecovered,FECShortShards"

// numberedSnmp returns a kcp.Snmp whose i-th field holds 1000+i, so every
// column can be traced back to its counter.
func numberedSnmp() *kcp.Snmp {
	s := new(kcp.Snmp)
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(1000 + i))
	}
	return s
}

// fieldValue is the value numberedSnmp gave to the field of that name,
// and "0" for a counter this kcp-go lacks.
func fieldValue(name string) string {
	f, ok := reflect.TypeFor[kcp.Snmp]().FieldByName(name)
	if !ok {
		return "0"
	}
	return strconv.Itoa(1000 + f.Index[0])
}

func TestSnmpFileNameFormatsOnlyTheFileName(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 4, 5, 0, time.UTC)
	cases := []struct{ path, want string }{
		{"snmp-20060102.log", "snmp-20261125.log"},
		{"./snmp-20060102.log", "./snmp-20261125.log"},
		{"/var/log/2006/snmp-20060102-150405.csv", "/var/log/2006/snmp-20261125-130405.csv"},
		{"/tmp/plain.csv", "/tmp/plain.csv"},
	}
	for _, c := range cases {
		if got := SnmpFileName(c.path, now); got != c.want {
			t.Errorf("SnmpFileName(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestAppendSnmpRowWritesHeaderOnceAndCountersByName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snmp-20060102.log")
	t1 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := numberedSnmp()
	if err := AppendSnmpRow(path, t1, s); err != nil {
		t.Fatal(err)
	}
	if err := AppendSnmpRow(path, t1.Add(time.Minute), s); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "snmp-20261125.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 4 || lines[3] != "" {
		t.Fatalf("want header, 2 rows and a final newline, got %q", data)
	}
	if lines[0] != wireHeader {
		t.Fatalf("header\n got %s\nwant %s", lines[0], wireHeader)
	}
	names := strings.Split(wireHeader, ",")
	for i, want := range []int64{t1.Unix(), t1.Add(time.Minute).Unix()} {
		cols := strings.Split(lines[1+i], ",")
		if len(cols) != 25 {
			t.Fatalf("row %d has %d columns, want 25: %s", i, len(cols), lines[1+i])
		}
		if cols[0] != strconv.FormatInt(want, 10) {
			t.Errorf("row %d Unix = %s, want %d", i, cols[0], want)
		}
		for j, name := range names[1:] {
			if got, want := cols[1+j], fieldValue(name); got != want {
				t.Errorf("row %d column %s = %s, want %s", i, name, got, want)
			}
		}
	}
}

func TestAppendSnmpRowAddsNoHeaderToAFileWithData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snmp.csv")
	if err := os.WriteFile(path, []byte("earlier,row\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AppendSnmpRow(path, time.Unix(1700000000, 0), new(kcp.Snmp)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := "earlier,row\n1700000000" + strings.Repeat(",0", 24) + "\n"
	if string(data) != want {
		t.Fatalf("file\n got %q\nwant %q", data, want)
	}
}

func TestAppendSnmpRowReportsAnUnwritablePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "snmp.csv")
	if err := AppendSnmpRow(path, time.Now(), new(kcp.Snmp)); err == nil {
		t.Fatal("no error for a file in a directory that does not exist")
	}
}

// The SIGUSR1 line is what kcptun's log.Printf("KCP SNMP:%+v", snmp)
// printed with the kcp-go it linked: its 24 struct fields in struct order.
func TestSnmpLineIsKcptunsPrintfForm(t *testing.T) {
	order := []string{"BytesSent", "BytesReceived", "MaxConn", "ActiveOpens", "PassiveOpens",
		"CurrEstab", "InErrs", "InCsumErrors", "KCPInErrors", "InPkts", "OutPkts", "InSegs",
		"OutSegs", "InBytes", "OutBytes", "RetransSegs", "FastRetransSegs", "EarlyRetransSegs",
		"LostSegs", "RepeatSegs", "FECRecovered", "FECErrs", "FECParityShards", "FECShortShards"}
	var parts []string
	for _, name := range order {
		parts = append(parts, name+":"+fieldValue(name))
	}
	want := "KCP SNMP:&{" + strings.Join(parts, " ") + "}"
	if got := SnmpLine(numberedSnmp()); got != want {
		t.Fatalf("SnmpLine\n got %s\nwant %s", got, want)
	}
}
