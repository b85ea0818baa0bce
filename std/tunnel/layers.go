package tunnel

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"

	"github.com/kcptun-go/tunnel/std/config"
	"github.com/kcptun-go/tunnel/std/crypt"
	"github.com/kcptun-go/tunnel/std/stream"
)

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = errors.New("tunnel: closed")

// errPeerAborted is logged for a stream the peer closed without reading
// the rest (see stream.FinWatch).
var errPeerAborted = errors.New("the peer aborted the stream")

// layers holds what both roles build once from the shared settings: the
// packet cipher, the smux configuration and the QPP pads.
type layers struct {
	common *config.Common
	block  kcp.BlockCrypt
	smux   *smux.Config // its MaxFrameSize is stream.FrameSize's
	qpp    *stream.QPP  // nil when --QPP is off
	log    *slog.Logger

	sessions sessionTable // open sessions: SessionInfos and the close log (stats.go)
}

func newLayers(c *config.Common, log *slog.Logger) (*layers, error) {
	block, err := crypt.New(c.Crypt, c.Key)
	if err != nil {
		return nil, fmt.Errorf("crypt: %w", err)
	}
	frame := stream.FrameSize(c.SegmentBytes(), !c.NoComp)
	sc, err := stream.SmuxConfig(c.SmuxVer, c.SmuxBuf, c.StreamBuf, time.Duration(c.KeepAlive)*time.Second, frame)
	if err != nil {
		return nil, fmt.Errorf("smux: %w", err)
	}
	l := &layers{common: c, block: block, smux: sc, log: log}
	if c.QPP {
		if l.qpp, err = stream.NewQPP(c.Key, c.QPPCount); err != nil {
			return nil, fmt.Errorf("qpp: %w", err)
		}
	}
	return l, nil
}

// mux puts the optional snappy framing and smux on a KCP session, with a
// watch on the FINs smux reads (see stream.FinWatch).
func (l *layers) mux(conn net.Conn, client bool) (*smux.Session, *stream.FinWatch, error) {
	if !l.common.NoComp {
		conn = stream.NewCompConn(conn)
	}
	conn, fins := stream.WatchFINs(conn)
	var (
		s   *smux.Session
		err error
	)
	if client {
		s, err = smux.Client(conn, l.smux)
	} else {
		s, err = smux.Server(conn, l.smux)
	}
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("smux session: %w", err)
	}
	return s, fins, nil
}

// wrapStream applies QPP to a smux stream when it is on.
func (l *layers) wrapStream(s *smux.Stream) net.Conn {
	if l.qpp != nil {
		return l.qpp.Wrap(s)
	}
	return s
}

// pipe copies between the application's connection (the client's local
// connection, or the server's target connection) and the tunnel stream
// st of sess (tunnel: st as the application's data goes through it), and
// logs the outcome. When the peer aborts the stream (stream.FinWatch),
// the copy towards it stops (stream.PipeUntil) and what the peer sent
// before still reaches the application.
func (l *layers) pipe(app, tunnel net.Conn, sess *smux.Session, st *smux.Stream, attrs ...any) {
	start := time.Now()
	if !l.common.Quiet {
		l.log.Info("stream opened", attrs...)
	}
	var aborted chan struct{}
	if fins := l.sessions.finWatch(sess); fins != nil {
		aborted = make(chan struct{})
		stop := fins.Watch(st.ID(), func() { close(aborted) })
		defer stop()
	}
	in, out, err := stream.PipeUntil(app, tunnel, aborted, l.smux.MaxFrameSize)
	select {
	case <-aborted:
		err = errPeerAborted
	default:
	}
	if l.common.Quiet {
		return
	}
	attrs = append(attrs, "app_to_tunnel", in, "tunnel_to_app", out, "duration", time.Since(start).Round(time.Millisecond))
	if err != nil {
		l.log.Info("stream closed", append(attrs, "err", err)...)
		return
	}
	l.log.Info("stream closed", attrs...)
}
