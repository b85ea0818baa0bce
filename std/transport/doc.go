// Package transport makes KCP sessions: it opens the packet socket (UDP,
// or any injected net.PacketConn such as fake TCP or an emulated link),
// puts kcp-go on it with the configured cipher and FEC, and applies the
// KCP tuning that both roles share, written once.
package transport
