// Package sip003 holds the end-to-end test of shadowsocks plugin (SIP003)
// mode: it builds the client and server binaries, runs them as plugins of
// shadowsocks-libev's ss-local and ss-server on 127.0.0.1, and fetches data
// through ss-local's SOCKS5 port with curl. It has no non-test code; the
// tests skip when ss-server, ss-local, curl or go are not installed (.ci/run
// installs shadowsocks-libev).
package sip003
