package tunnel

import (
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/flow"
	"github.com/kcptun-go/tunnel/std/transport"
)

// How often the sessions' flow controllers get a sample: often while a
// session sends, seldom while all are quiet.
const (
	flowEveryBusy = 10 * time.Millisecond
	flowEveryIdle = 100 * time.Millisecond
)

// paceBurst is how much a paced writer may send at once after a pause.
const paceBurst = 16 << 10

// writeTimer paces and times the writes to a KCP session. kcp-go blocks
// a Write while the send window is full, and the pacer holds a Write
// until the session's rate allows it, so the time spent in Write tells
// the flow controller whether the sender is held back.
type writeTimer struct {
	net.Conn
	blocked atomic.Int64  // ns spent in Write and WriteBuffers
	pace    atomic.Uint64 // bytes per second (float64 bits); 0: unpaced

	mu   sync.Mutex // the pacer's clock; smux writes from one goroutine
	next time.Time  // when the next write may start
}

func (w *writeTimer) Write(b []byte) (int, error) {
	start := time.Now()
	w.wait(start, len(b))
	n, err := w.Conn.Write(b)
	w.blocked.Add(int64(time.Since(start)))
	return n, err
}

// WriteBuffers keeps kcp-go's vectored writes.
func (w *writeTimer) WriteBuffers(v [][]byte) (int, error) {
	start := time.Now()
	size := 0
	for _, b := range v {
		size += len(b)
	}
	w.wait(start, size)
	n, err := w.Conn.(interface{ WriteBuffers([][]byte) (int, error) }).WriteBuffers(v)
	w.blocked.Add(int64(time.Since(start)))
	return n, err
}

// wait holds a write of n bytes until the pacing rate allows it.
func (w *writeTimer) wait(now time.Time, n int) {
	rate := math.Float64frombits(w.pace.Load())
	if rate <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	at := w.next
	if earliest := now.Add(-time.Duration(paceBurst / rate * 1e9)); at.Before(earliest) {
		at = earliest
	}
	w.next = at.Add(time.Duration(float64(n) / rate * 1e9))
	if d := at.Sub(now); d > 0 {
		time.Sleep(d)
	}
}

// flowTuner runs one session's send control and applies its decisions
// to the session: a flow.Controller (delay based) in general, or, under
// the rate control, a flow.RateController fed with the ACKs the SealConn
// reads, whose pace the SealConn keeps. On a SealConn (config.Common.SeesACKs)
// either window counts only the segments in flight: resize adds those
// acknowledged above a hole. It also sizes the receive window
// (flow.RecvWindow) and, on a SealConn, tells its parity controller the
// RTT (the parity is chosen only under --mode auto).
type flowTuner struct {
	sess   *kcp.UDPSession
	timer  *writeTimer
	common *config.Common
	parity *transport.Peer  // nil unless the session runs on a SealConn
	recv   *flow.RecvWindow // sizes the receive window (up to --rcvwnd)
	read   func() uint64    // bytes read from the session so far (set by openSession)

	mu          sync.Mutex
	ctl         *flow.Controller     // the delay control
	rate        *flow.RateController // the rate control (on a SealConn: it reads the ACKs)
	lastBlocked int64                // timer.blocked at the previous sample, to tell idle sessions
	ctlWnd      atomic.Int64         // the controller's window
	kcpWnd      atomic.Int64         // the send window kcp-go has
	ramped      float64              // the rate control's window as given to kcp-go (see rampWindow)
	rampAt      time.Time
}

// newFlowTuner wraps conn (the session's KCP conn) in a writeTimer and
// returns the tuner with its initial decision applied, or nil when
// --sendctl is off. The caller uses the returned conn in place of conn.
func newFlowTuner(sess *kcp.UDPSession, c *config.Common, parity *transport.Peer) (*flowTuner, net.Conn) {
	if c.SendCtl == config.SendCtlOff {
		return nil, sess
	}
	t := &flowTuner{
		sess:   sess,
		timer:  &writeTimer{Conn: sess},
		common: c,
		parity: parity,
	}
	p := flow.Params{MaxWnd: c.SndWnd, Interval: c.Interval, SegBytes: c.SegmentBytes()}
	if parity != nil {
		parity.OnAck(t.resize)
	}
	if parity != nil && c.RateControl() {
		t.rate = flow.NewRate(p)
		d := t.rate.Decision()
		t.apply(d)
		t.rampWindow(time.Now(), d)
	} else {
		t.ctl = flow.New(p)
		t.apply(t.ctl.Decision())
	}
	t.recv = flow.NewRecvWindow(c.RcvWnd, c.SegmentBytes())
	t.sess.SetWindowSize(0, t.recv.Wnd())
	return t, t.timer
}

// apply gives the session a decision's interval and pacing, and the
// delay control's window; the rate control's goes through rampWindow.
func (t *flowTuner) apply(d flow.Decision) {
	if t.rate == nil {
		t.setSendWindow(d.Wnd)
	}
	t.sess.SetNoDelay(-1, d.Interval, -1, -1)
	if t.rate != nil {
		t.parity.SetPace(t.wireRate(d.Pace))
	} else {
		t.timer.pace.Store(math.Float64bits(d.Pace))
	}
}

// rampWindow moves the window kcp-go gets toward the rate control's: down
// at once, up no faster than the pacer sends (the first call sets it). kcp-go emits at once what a
// larger window allows, and what waits in the pacer longer than kcp-go's
// retransmission timeout allows goes out twice (after a drain, the
// window doubles within a sample).
func (t *flowTuner) rampWindow(now time.Time, d flow.Decision) {
	w := float64(d.Wnd)
	if per := d.Pace / float64(t.common.SegmentBytes()); per > 0 && w > t.ramped && !t.rampAt.IsZero() {
		w = min(w, t.ramped+per*now.Sub(t.rampAt).Seconds()+1)
	}
	t.ramped, t.rampAt = w, now
	t.setSendWindow(int(w))
}

// wireRate turns a pace of payload bytes per second into bytes per
// second on the wire: with the headers, and the parity shards sent.
func (t *flowTuner) wireRate(pace float64) float64 {
	c := t.common
	wire := pace * float64(c.MTU) / float64(c.SegmentBytes())
	if c.DataShard > 0 {
		wire *= float64(c.DataShard+t.parity.State().Shards) / float64(c.DataShard)
	}
	return wire
}

// setSendWindow gives kcp-go the controller's window (see resize).
func (t *flowTuner) setSendWindow(wnd int) {
	t.ctlWnd.Store(int64(wnd))
	t.resize()
}

// resize gives kcp-go the controller's window plus, on a SealConn, the
// segments from the peer's una up that it has acknowledged
// (transport.Peer.Gone): KCP's window spans from the first segment not
// acknowledged, so while a loss is repaired the segments acknowledged
// after it would otherwise take the place of segments in flight, and the
// sender would stall for a round trip or more. The sum stays within
// --sndwnd. The SealConn calls it as each ACK arrives, before kcp-go
// reads it, so that the window kcp-go fills on the ACK is already the
// right one.
func (t *flowTuner) resize() {
	wnd := int(t.ctlWnd.Load())
	if t.parity != nil {
		wnd = min(wnd+t.parity.Gone(), max(t.common.SndWnd, wnd))
	}
	if int64(wnd) != t.kcpWnd.Swap(int64(wnd)) {
		t.sess.SetWindowSize(wnd, 0)
	}
}

// sample feeds the controllers and applies changed decisions. It
// reports whether the session wrote anything since the last sample.
func (t *flowTuner) sample(now time.Time) (active bool) {
	blocked := t.timer.blocked.Load()
	srtt := time.Duration(t.sess.GetSRTT()) * time.Millisecond
	var read uint64
	if t.read != nil {
		read = t.read()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	active = blocked != t.lastBlocked
	t.lastBlocked = blocked
	var minRTT time.Duration
	if t.rate != nil {
		s := t.parity.TakeRateSample(now)
		s.Blocked = time.Duration(blocked)
		d, changed := t.rate.Update(s)
		if changed {
			t.apply(d)
		}
		t.rampWindow(now, d)
		minRTT = t.rate.State().MinRTT
	} else {
		out, retrans := atomic.LoadUint64(&kcp.DefaultSnmp.OutSegs), atomic.LoadUint64(&kcp.DefaultSnmp.RetransSegs)
		sample := flow.Sample{Now: now, SRTT: srtt, Blocked: time.Duration(blocked), Out: out, Retrans: retrans}
		if t.parity != nil {
			sample.Bottleneck = t.parity.TakeBottleneck()
		}
		if d, changed := t.ctl.Update(sample); changed {
			t.apply(d)
		}
		minRTT = t.ctl.State().MinRTT
	}
	if t.parity != nil && minRTT > 0 {
		t.parity.SetRTT(minRTT)
	}
	if t.parity != nil {
		t.recv.Spanned(t.parity.TakeRecvSpan())
	}
	if w, changed := t.recv.Update(now, read, minRTT); changed {
		t.sess.SetWindowSize(0, w)
	}
	return active
}

// fill puts the controllers' view into si.
func (t *flowTuner) fill(si *SessionInfo) {
	t.mu.Lock()
	var st flow.State
	if t.rate != nil {
		st = t.rate.State()
	} else {
		st = t.ctl.State()
	}
	si.RcvWnd = t.recv.Wnd()
	t.mu.Unlock()
	si.SendPhase, si.SendWnd, si.QDelay = string(st.Phase), st.Wnd, st.QDelay
	if t.parity != nil {
		ps := t.parity.State()
		si.Parity, si.ParityMax, si.Loss, si.Repairable, si.Dups = ps.Shards, ps.Max, ps.Loss, ps.Repairable, t.parity.Duplicated()
	}
}

// runFlow samples the flow tuners of the table's sessions until the
// table has none or is closed; add starts it.
func (t *sessionTable) runFlow() {
	defer t.wg.Done()
	timer := time.NewTimer(flowEveryBusy)
	defer timer.Stop()
	var tuners []*flowTuner
	for now := range timer.C {
		t.mu.Lock()
		if t.closed != "" || len(t.entries) == 0 {
			t.flowRunning = false
			t.mu.Unlock()
			return
		}
		tuners = tuners[:0]
		for _, e := range t.entries {
			if e.flow != nil {
				tuners = append(tuners, e.flow)
			}
		}
		t.mu.Unlock()
		active := false
		for _, ft := range tuners {
			if ft.sample(now) {
				active = true
			}
		}
		clear(tuners)
		if active {
			timer.Reset(flowEveryBusy)
		} else {
			timer.Reset(flowEveryIdle)
		}
	}
}
