package obs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	kcp "github.com/xtaci/kcp-go/v5"
)

// scrape fetches MetricsPath from h and parses the text exposition.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", MetricsPath, resp.Status, body)
	}
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	return families
}

func TestMetricsExposeEveryKcpCounter(t *testing.T) {
	fams := scrape(t, MetricsHandler(NewMetricsRegistry(nil)))
	typ := reflect.TypeFor[kcp.Snmp]()
	if typ.NumField() != 30 {
		t.Logf("kcp.Snmp has %d fields (30 in v5.6.72)", typ.NumField())
	}
	for i := range typ.NumField() {
		name := "kcptun_kcp_" + snakeCase(typ.Field(i).Name)
		if _, gauge := snmpGauges[typ.Field(i).Name]; !gauge {
			name += "_total"
		}
		f, ok := fams[name]
		if !ok {
			t.Errorf("%s (kcp.Snmp.%s) missing", name, typ.Field(i).Name)
			continue
		}
		want := dto.MetricType_COUNTER
		if !strings.HasSuffix(name, "_total") {
			want = dto.MetricType_GAUGE
		}
		if f.GetType() != want {
			t.Errorf("%s is %v, want %v", name, f.GetType(), want)
		}
	}
	for _, name := range []string{"kcptun_kcp_retrans_segs_total", "kcptun_kcp_in_csum_errors_total",
		"kcptun_kcp_fec_recovered_total", "kcptun_kcp_curr_estab", "go_goroutines", "go_memstats_alloc_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if f := fams["kcptun_sessions"]; f == nil || f.Metric[0].GetGauge().GetValue() != 0 {
		t.Errorf("kcptun_sessions without sessions: %v", f)
	}
}

func TestMetricsShowEachSession(t *testing.T) {
	list := []SessionInfo{
		{Remote: "127.0.0.1:4000", Conv: 7, Age: time.Minute, SRTT: 25 * time.Millisecond, RTO: 200 * time.Millisecond, Streams: 3, BytesIn: 100, BytesOut: 200,
			SendPhase: "steady", SendWnd: 300, QDelay: 12 * time.Millisecond, RcvWnd: 900, Parity: 1, ParityMax: 3, Loss: 0.004, Repairable: 0.25, Dups: 5},
		{Remote: "127.0.0.1:4000", Conv: 8, Streams: 1},
	}
	fams := scrape(t, MetricsHandler(NewMetricsRegistry(func() []SessionInfo { return list })))
	value := func(name, conv string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("%s missing", name)
		}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["conv"] != conv {
				continue
			}
			if conv != "" && labels["remote"] != "127.0.0.1:4000" {
				t.Errorf("%s remote label = %q", name, labels["remote"])
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
		t.Fatalf("%s has no series for conv %q", name, conv)
		return 0
	}
	checks := []struct {
		name, conv string
		want       float64
	}{
		{"kcptun_sessions", "", 2},
		{"kcptun_streams", "", 4},
		{"kcptun_session_srtt_seconds", "7", 0.025},
		{"kcptun_session_rto_seconds", "7", 0.2},
		{"kcptun_session_streams", "8", 1},
		{"kcptun_session_age_seconds", "7", 60},
		{"kcptun_session_received_bytes_total", "7", 100},
		{"kcptun_session_sent_bytes_total", "7", 200},
		{"kcptun_session_send_window_segments", "7", 300},
		{"kcptun_session_queue_delay_seconds", "7", 0.012},
		{"kcptun_session_receive_window_segments", "7", 900},
		{"kcptun_session_parity_shards", "7", 1},
		{"kcptun_session_residual_loss_ratio", "7", 0.004},
		{"kcptun_session_fec_repairable_ratio", "7", 0.25},
		{"kcptun_session_duplicated_packets_total", "7", 5},
	}
	for _, c := range checks {
		if got := value(c.name, c.conv); got != c.want {
			t.Errorf("%s{conv=%q} = %v, want %v", c.name, c.conv, got, c.want)
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"RetransSegs": "retrans_segs", "KCPInErrors": "kcp_in_errors", "InCsumErrors": "in_csum_errors",
		"FECFullShardSet": "fec_full_shard_set", "OOBPackets": "oob_packets", "MaxConn": "max_conn",
		"RingBufferSndQueue": "ring_buffer_snd_queue",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
