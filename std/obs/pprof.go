package obs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// PprofAddr is where --pprof serves: loopback only (the release listened
// on every interface).
const PprofAddr = "127.0.0.1:6060"

// PprofHandler is the net/http/pprof handler set on its own mux.
func PprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// ServePprof serves pprof on ln until ctx ends.
func ServePprof(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	log.Info("pprof listening", "addr", ln.Addr().String())
	return serveHTTP(ctx, ln, PprofHandler(), "pprof")
}

// serveHTTP serves h on ln until ctx ends; name labels its errors.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, name string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
