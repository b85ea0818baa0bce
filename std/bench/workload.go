package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Dialer opens a connection to the target through the system under test
// (a tunnel's local port, or a socket in the baseline's namespace).
type Dialer func(ctx context.Context) (net.Conn, error)

// TCPDialer dials addr over TCP.
func TCPDialer(addr string) Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// closeOnDone closes c when ctx ends, so blocked reads and writes return;
// the returned stop func ends the watch.
func closeOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// Transfer is one verified download.
type Transfer struct {
	Bytes    int64         // verified bytes received
	Elapsed  time.Duration // from the dial to the last byte, or to the time limit
	Complete bool          // all bytes arrived (false: the time limit cut it short)
}

// Mbps is the goodput in Mbit/s.
func (t Transfer) Mbps() float64 { return mbps(t.Bytes, t.Elapsed) }

func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) * 8 / d.Seconds() / 1e6
}

// Download fetches size bytes of Pattern{seed} from the target through
// dial and checks every byte.
func Download(ctx context.Context, dial Dialer, size int64, seed uint32) (Transfer, error) {
	return downloadUntil(ctx, dial, size, seed, time.Time{})
}

// DownloadFor is Download stopped after limit (0: no limit): a download
// cut short returns the bytes verified so far with Complete false and no
// error, so a link too slow for the full size still yields a goodput.
func DownloadFor(ctx context.Context, dial Dialer, size int64, seed uint32, limit time.Duration) (Transfer, error) {
	var deadline time.Time
	if limit > 0 {
		deadline = time.Now().Add(limit)
	}
	return downloadUntil(ctx, dial, size, seed, deadline)
}

func downloadUntil(ctx context.Context, dial Dialer, size int64, seed uint32, deadline time.Time) (Transfer, error) {
	start := time.Now()
	c, err := dial(ctx)
	if err != nil {
		return Transfer{}, fmt.Errorf("bench: download dial: %w", err)
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	if err := c.SetReadDeadline(deadline); err != nil {
		return Transfer{}, fmt.Errorf("bench: download deadline: %w", err)
	}
	if _, err := c.Write(encodeRequest(opDownload, seed, uint64(size))); err != nil {
		return Transfer{}, fmt.Errorf("bench: download request: %w", err)
	}
	got, err := receivePattern(c, Pattern{Seed: uint64(seed)}, uint64(size))
	if err != nil && !deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
		return Transfer{Bytes: int64(got), Elapsed: time.Since(start)}, nil
	}
	if err != nil {
		return Transfer{}, fmt.Errorf("bench: download of %d bytes: %w", size, errors.Join(err, ctx.Err()))
	}
	return Transfer{Bytes: size, Elapsed: time.Since(start), Complete: true}, nil
}

// Upload sends size bytes of Pattern{seed} to the target's sink, which
// checks them and answers whether they verified.
func Upload(ctx context.Context, dial Dialer, size int64, seed uint32) (Transfer, error) {
	start := time.Now()
	c, err := dial(ctx)
	if err != nil {
		return Transfer{}, fmt.Errorf("bench: upload dial: %w", err)
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	if _, err := c.Write(encodeRequest(opSink, seed, uint64(size))); err != nil {
		return Transfer{}, fmt.Errorf("bench: upload request: %w", err)
	}
	if err := sendPattern(c, Pattern{Seed: uint64(seed)}, uint64(size)); err != nil {
		return Transfer{}, fmt.Errorf("bench: upload: %w", err)
	}
	var ok [1]byte
	if _, err := io.ReadFull(c, ok[:]); err != nil {
		return Transfer{}, fmt.Errorf("bench: upload verdict: %w", errors.Join(ErrShort, err))
	}
	if ok[0] != 1 {
		return Transfer{}, fmt.Errorf("bench: upload of %d bytes: %w", size, ErrCorrupt)
	}
	return Transfer{Bytes: size, Elapsed: time.Since(start)}, nil
}

// ParallelResult is a batch of downloads started at once.
type ParallelResult struct {
	Streams  int
	Complete int           // streams that received all their bytes
	Bytes    int64         // verified bytes over all streams
	Elapsed  time.Duration // until the last stream finished or the time limit
}

// Mbps is the aggregate goodput in Mbit/s.
func (p ParallelResult) Mbps() float64 { return mbps(p.Bytes, p.Elapsed) }

// Parallel downloads size bytes on each of n streams at once (stream i
// with seed seed+i), checks every byte, and stops the streams still
// running after limit (0: no limit).
func Parallel(ctx context.Context, dial Dialer, n int, size int64, seed uint32, limit time.Duration) (ParallelResult, error) {
	start := time.Now()
	var deadline time.Time
	if limit > 0 {
		deadline = start.Add(limit)
	}
	errs := make([]error, n)
	transfers := make([]Transfer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			transfers[i], errs[i] = downloadUntil(ctx, dial, size, seed+uint32(i), deadline)
		}()
	}
	wg.Wait()
	res := ParallelResult{Streams: n, Elapsed: time.Since(start)}
	for _, t := range transfers {
		res.Bytes += t.Bytes
		if t.Complete {
			res.Complete++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("bench: %d parallel streams: %w", n, err)
	}
	return res, nil
}

// ProbeSize is the size of one echo probe.
const ProbeSize = 64

// Echo sends a 64-byte probe every interval on one connection until stop
// is closed or count probes were sent (count ≤ 0: no limit), and returns
// the round-trip time of each, in order. Probes are sent on schedule
// whether or not earlier ones have returned, so a stalled tunnel shows up
// as long RTTs rather than as fewer probes. Each echoed probe is checked.
func Echo(ctx context.Context, dial Dialer, interval time.Duration, count int, stop <-chan struct{}) ([]time.Duration, error) {
	c, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: echo dial: %w", err)
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	if _, err := c.Write(encodeRequest(opEcho, 0, 0)); err != nil {
		return nil, fmt.Errorf("bench: echo request: %w", err)
	}
	sent := make(chan time.Time, 1<<16)
	writeErr := make(chan error, 1)
	go func() { writeErr <- sendProbes(ctx, c, interval, count, stop, sent) }()

	var rtts []time.Duration
	buf := make([]byte, ProbeSize)
	for seq := uint64(0); ; seq++ {
		at, more := <-sent
		if !more {
			break
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return rtts, fmt.Errorf("bench: echo probe %d: %w", seq, errors.Join(err, ctx.Err()))
		}
		rtts = append(rtts, time.Since(at))
		if err := (Pattern{Seed: seq}).Check(buf, 0); err != nil {
			return rtts, fmt.Errorf("bench: echo probe %d: %w", seq, err)
		}
	}
	if err := <-writeErr; err != nil {
		return rtts, err
	}
	return rtts, nil
}

// sendProbes writes probe seq (Pattern{seq}'s first 64 bytes) every
// interval, reporting each send time on sent, which it closes at the end.
func sendProbes(ctx context.Context, c net.Conn, interval time.Duration, count int, stop <-chan struct{}, sent chan<- time.Time) error {
	defer close(sent)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	buf := make([]byte, ProbeSize)
	for seq := uint64(0); count <= 0 || seq < uint64(count); seq++ {
		if seq > 0 {
			select {
			case <-stop:
				return nil
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		Pattern{Seed: seq}.Fill(buf, 0)
		at := time.Now()
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("bench: echo send %d: %w", seq, err)
		}
		select {
		case sent <- at:
		default:
			return fmt.Errorf("bench: echo: more than %d probes outstanding", cap(sent))
		}
	}
	return nil
}

// IdleDialers is how many connections HoldIdle opens at once.
const IdleDialers = 32

// HoldIdle opens n connections through dial (at most IdleDialers at a
// time), makes each an echo connection that carried one checked 64-byte
// probe (probe i on connection i: Pattern{i}'s first 64 bytes), so that
// every one is established end to end, calls held with all n open and
// idle, and then closes them all with closeIdle, returning once the far
// end has closed each too. The first failure aborts the others and is
// returned; held is not called then.
func HoldIdle(ctx context.Context, dial Dialer, n int, held func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conns := make([]net.Conn, n)
	defer closeAll(conns)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(n, IdleDialers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				c, err := openIdle(ctx, dial, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel(err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("bench: %d idle connections: %w", n, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench: %d idle connections: %w", n, err)
	}
	held()
	if err := closeIdle(ctx, conns); err != nil {
		return fmt.Errorf("bench: %d idle connections: %w", n, err)
	}
	return nil
}

// closeIdle half-closes every echo connection and waits for each to end
// from the far side as well (the half-close crossed the tunnel to the
// target, whose echo then ended its side back through the tunnel), so the
// tunnel has torn them all down, and its link carries no more closing
// traffic, by the time the next workload starts. A connection that cannot
// half-close is closed at once. Bytes arriving after the half-close are
// an error (ErrCorrupt): the echo had nothing more to send.
func closeIdle(ctx context.Context, conns []net.Conn) error {
	defer context.AfterFunc(ctx, func() { closeAll(conns) })()
	var ending []net.Conn
	for _, c := range conns {
		if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			ending = append(ending, c)
			continue
		}
		c.Close()
	}
	var errs []error
	for _, c := range ending {
		// The far end's close shows as EOF, or as a reset from a tunnel
		// that closes streams outright: either way the connection ended.
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("closing: %w", err)
		}
		if n > 0 {
			errs = append(errs, fmt.Errorf("%w: %d bytes after the echo's half-close", ErrCorrupt, n))
		}
	}
	return errors.Join(errs...)
}

// openIdle dials echo connection i and checks one probe's round trip.
func openIdle(ctx context.Context, dial Dialer, i int) (net.Conn, error) {
	c, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: idle connection %d dial: %w", i, err)
	}
	stop := closeOnDone(ctx, c)
	err = echoOneProbe(c, Pattern{Seed: uint64(i)})
	if !stop() {
		// Aborted (closed by closeOnDone), maybe after the probe returned.
		err = errors.Join(err, context.Cause(ctx))
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("bench: idle connection %d: %w", i, err)
	}
	return c, nil
}

// echoOneProbe sends the echo request with the first ProbeSize bytes of p
// on c and checks that they come back.
func echoOneProbe(c net.Conn, p Pattern) error {
	msg := append(encodeRequest(opEcho, 0, 0), make([]byte, ProbeSize)...)
	p.Fill(msg[headerLen:], 0)
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("echo request: %w", err)
	}
	buf := make([]byte, ProbeSize)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("echo probe: %w", err)
	}
	return p.Check(buf, 0)
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// probeOnce checks that one echo round trip works through dial (the
// readiness probe).
func probeOnce(ctx context.Context, dial Dialer) error {
	_, err := Echo(ctx, dial, time.Millisecond, 1, nil)
	return err
}
