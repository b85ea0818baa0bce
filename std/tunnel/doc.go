// Package tunnel is the client and the server of the tunnel.
//
// The client accepts local TCP (or unix) connections and carries each as
// one smux stream over a small pool of KCP sessions; the server accepts
// KCP sessions, and opens each stream it receives to the target. Both
// follow net/http's lifecycle: Serve blocks until Close or Shutdown and
// then returns ErrServerClosed; Close is idempotent.
package tunnel
