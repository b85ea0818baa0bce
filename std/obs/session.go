package obs

import (
	"fmt"
	"log/slog"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
)

// SessionInfo is one KCP session at a moment, as the SIGUSR1 table and the
// metrics show it. kcp-go keeps retransmission and FEC figures only for
// the whole process (kcp.DefaultSnmp), so a session carries none.
type SessionInfo struct {
	Remote   string        // the peer's UDP address
	Local    string        // our UDP address
	Conv     uint32        // KCP conversation id
	Age      time.Duration // since the session was made
	SRTT     time.Duration // smoothed round-trip time
	RTO      time.Duration // retransmission timeout
	Streams  int           // smux streams open
	BytesIn  uint64        // bytes read from the session (compressed, before smux)
	BytesOut uint64        // bytes written to the session

	// The send control's view (--sendctl delay); SendPhase is "" when it
	// is off.
	SendPhase string        // startup or steady (delay based); startup, drain or probe (--mode auto)
	SendWnd   int           // the send window it chose, segments
	QDelay    time.Duration // the queueing delay it measured last

	// The receive window the send control chose (0 with --sendctl off);
	// --mode auto's view: when the session runs on a SealConn, the parity shards it
	// sends per FEC group out of ParityMax and the residual loss (the
	// share of data segments sent again) that chose them.
	RcvWnd    int
	Parity    int
	ParityMax int
	Loss      float64
	// Repairable is the share of the lost segments ParityMax shards
	// would rebuild, by the pattern of the loss measured while none was
	// sent (bursts longer than the parity: near 0, so none is bought);
	// −1 while unknown.
	Repairable float64
	// Dups counts the data packets the session sent twice on a SealConn:
	// as a thin session (few segments in flight), and packets of ACKs
	// alone while the peer's packets were lost.
	Dups uint64
}

// LogSnapshot logs what SIGUSR1 asks for: kcptun's "KCP SNMP:" line, then
// the session table: a head line with the number of sessions and the
// retransmitted and FEC-recovered segments of all of them together
// (kcp-go counts those per process only), and one line per session
// (remote, age, RTT, RTO, streams, bytes each way, the send control's
// phase, window and queueing delay, the receive window, the parity
// shards sent per group, the residual loss and the share of it FEC could
// repair, and the data packets sent twice).
func LogSnapshot(log *slog.Logger, s *kcp.Snmp, sessions []SessionInfo) {
	log.Info(SnmpLine(s))
	log.Info("sessions", "count", len(sessions), "retrans_segs", s.RetransSegs, "fec_recovered", s.FECRecovered)
	for _, si := range sessions {
		log.Info("session",
			"remote", si.Remote,
			"conv", si.Conv,
			"age", si.Age.Round(time.Second),
			"srtt", si.SRTT,
			"rto", si.RTO,
			"streams", si.Streams,
			"bytes_in", si.BytesIn,
			"bytes_out", si.BytesOut,
			"send", si.SendPhase,
			"sndwnd", si.SendWnd,
			"qdelay", si.QDelay,
			"rcvwnd", si.RcvWnd,
			"parity", fmt.Sprintf("%d/%d", si.Parity, si.ParityMax),
			"loss", fmt.Sprintf("%.2f%%", 100*si.Loss),
			"repairable", repairable(si),
			"dup", si.Dups,
		)
	}
}

// repairable formats si.Repairable: a percentage, or "?" (unknown, or
// no parity to choose).
func repairable(si SessionInfo) string {
	if si.Repairable < 0 || si.ParityMax == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*si.Repairable)
}
