package obs

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	kcp "github.com/xtaci/kcp-go/v5"
)

// MetricsPath is where --metrics serves the Prometheus exposition.
const MetricsPath = "/metrics"

// NewMetricsRegistry returns a private registry holding every counter of
// kcp.DefaultSnmp (kcptun_kcp_*), the sessions that sessions lists
// (kcptun_sessions, kcptun_streams, kcptun_session_*), and the standard Go
// and process collectors. sessions may be nil.
func NewMetricsRegistry(sessions func() []SessionInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newSnmpCollector(kcp.DefaultSnmp.Copy),
		newSessionCollector(sessions),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// MetricsHandler serves reg's exposition at MetricsPath.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return mux
}

// ServeMetrics serves h (see MetricsHandler) on ln until ctx ends.
func ServeMetrics(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", MetricsPath)
	return serveHTTP(ctx, ln, h, "metrics")
}

// snmpMetric is one field of kcp.Snmp as a Prometheus metric.
type snmpMetric struct {
	field int // index in kcp.Snmp
	desc  *prometheus.Desc
	kind  prometheus.ValueType
}

// snmpGauges are the kcp.Snmp fields that are levels, not running totals.
var snmpGauges = map[string]string{
	"MaxConn":             "Most KCP sessions open at once since start.",
	"CurrEstab":           "KCP sessions open now.",
	"FECShardSet":         "FEC shard sets not yet complete.",
	"FECShardMin":         "Newest FEC shard id among the incomplete shard sets.",
	"RingBufferSndQueue":  "Segments in the KCP send queue (last session updated).",
	"RingBufferRcvQueue":  "Segments in the KCP receive queue (last session updated).",
	"RingBufferSndBuffer": "Segments in the KCP send buffer (last session updated).",
}

// snmpCollector exposes every field of the kcp.Snmp that src returns,
// picked by reflection so that a counter added to kcp-go shows up too.
type snmpCollector struct {
	src     func() *kcp.Snmp
	metrics []snmpMetric
}

func newSnmpCollector(src func() *kcp.Snmp) *snmpCollector {
	c := &snmpCollector{src: src}
	t := reflect.TypeFor[kcp.Snmp]()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Uint64 {
			continue
		}
		name := "kcptun_kcp_" + snakeCase(f.Name)
		kind, help := prometheus.CounterValue, "kcp-go counter "+f.Name+" (cumulative since start)."
		if h, ok := snmpGauges[f.Name]; ok {
			kind, help = prometheus.GaugeValue, "kcp-go "+f.Name+": "+h
		} else {
			name += "_total"
		}
		c.metrics = append(c.metrics, snmpMetric{field: i, kind: kind,
			desc: prometheus.NewDesc(name, help, nil, nil)})
	}
	return c
}

func (c *snmpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

func (c *snmpCollector) Collect(ch chan<- prometheus.Metric) {
	v := reflect.ValueOf(c.src()).Elem()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, float64(v.Field(m.field).Uint()))
	}
}

// snakeCase turns a Go field name into a metric name part:
// RetransSegs → retrans_segs, KCPInErrors → kcp_in_errors.
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || unicode.IsUpper(r[i-1]) && nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// Per-session metrics: the labels say which session.
var (
	sessionLabels   = []string{"remote", "conv"}
	descSessions    = prometheus.NewDesc("kcptun_sessions", "KCP sessions this process serves now.", nil, nil)
	descStreams     = prometheus.NewDesc("kcptun_streams", "smux streams open now, all sessions together.", nil, nil)
	descSessSRTT    = prometheus.NewDesc("kcptun_session_srtt_seconds", "Smoothed round-trip time of a session.", sessionLabels, nil)
	descSessRTO     = prometheus.NewDesc("kcptun_session_rto_seconds", "Retransmission timeout of a session.", sessionLabels, nil)
	descSessStreams = prometheus.NewDesc("kcptun_session_streams", "smux streams open in a session.", sessionLabels, nil)
	descSessAge     = prometheus.NewDesc("kcptun_session_age_seconds", "Time since the session was made.", sessionLabels, nil)
	descSessIn      = prometheus.NewDesc("kcptun_session_received_bytes_total", "Bytes read from a session (compressed, before smux).", sessionLabels, nil)
	descSessOut     = prometheus.NewDesc("kcptun_session_sent_bytes_total", "Bytes written to a session (compressed, after smux).", sessionLabels, nil)

	// The controllers' decisions (--sendctl delay; --mode auto), present
	// only for the sessions that have them.
	descSessSndWnd = prometheus.NewDesc("kcptun_session_send_window_segments", "Send window the send control chose.", sessionLabels, nil)
	descSessQDelay = prometheus.NewDesc("kcptun_session_queue_delay_seconds", "Queueing delay the send control measured last.", sessionLabels, nil)
	descSessRcvWnd = prometheus.NewDesc("kcptun_session_receive_window_segments", "Receive window the send control chose.", sessionLabels, nil)
	descSessParity = prometheus.NewDesc("kcptun_session_parity_shards", "Parity shards per FEC group --mode auto sends.", sessionLabels, nil)
	descSessLoss   = prometheus.NewDesc("kcptun_session_residual_loss_ratio", "Share of data segments sent again in the last window (what FEC did not repair).", sessionLabels, nil)
	descSessRepair = prometheus.NewDesc("kcptun_session_fec_repairable_ratio", "Share of the lost data segments the configured parity would rebuild, by the loss pattern measured while none was sent (--mode auto); absent while unknown.", sessionLabels, nil)
	descSessDups   = prometheus.NewDesc("kcptun_session_duplicated_packets_total", "Data packets sent twice: while the session was thin (few segments in flight), and packets of ACKs alone while the peer's packets were lost.", sessionLabels, nil)
)

// sessionCollector exposes the sessions a tunnel role lists.
type sessionCollector struct {
	sessions func() []SessionInfo
}

func newSessionCollector(sessions func() []SessionInfo) *sessionCollector {
	if sessions == nil {
		sessions = func() []SessionInfo { return nil }
	}
	return &sessionCollector{sessions: sessions}
}

func (c *sessionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessions, descStreams, descSessSRTT, descSessRTO, descSessStreams, descSessAge, descSessIn, descSessOut,
		descSessSndWnd, descSessQDelay, descSessRcvWnd, descSessParity, descSessLoss, descSessRepair, descSessDups} {
		ch <- d
	}
}

func (c *sessionCollector) Collect(ch chan<- prometheus.Metric) {
	list := c.sessions()
	streams := 0
	for _, s := range list {
		streams += s.Streams
		labels := []string{s.Remote, strconv.FormatUint(uint64(s.Conv), 10)}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
		}
		gauge(descSessSRTT, s.SRTT.Seconds())
		gauge(descSessRTO, s.RTO.Seconds())
		gauge(descSessStreams, float64(s.Streams))
		gauge(descSessAge, s.Age.Seconds())
		ch <- prometheus.MustNewConstMetric(descSessIn, prometheus.CounterValue, float64(s.BytesIn), labels...)
		ch <- prometheus.MustNewConstMetric(descSessOut, prometheus.CounterValue, float64(s.BytesOut), labels...)
		if s.SendPhase != "" {
			gauge(descSessSndWnd, float64(s.SendWnd))
			gauge(descSessQDelay, s.QDelay.Seconds())
		}
		if s.RcvWnd > 0 {
			gauge(descSessRcvWnd, float64(s.RcvWnd))
		}
		if s.ParityMax > 0 {
			gauge(descSessParity, float64(s.Parity))
			gauge(descSessLoss, s.Loss)
			if s.Repairable >= 0 {
				gauge(descSessRepair, s.Repairable)
			}
			ch <- prometheus.MustNewConstMetric(descSessDups, prometheus.CounterValue, float64(s.Dups), labels...)
		}
	}
	ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(len(list)))
	ch <- prometheus.MustNewConstMetric(descStreams, prometheus.GaugeValue, float64(streams))
}
