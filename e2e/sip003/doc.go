// Package sip003 holds the end-to-end test of shadowsocks plugin (SIP003)
// mode: it builds the client and server binaries, runs them as plugins of
// shadowsocks-libev's ss-local and ss-server on 127.0.0.1 (and ::1), and
// fetches data through ss-local's SOCKS5 port with curl, byte-exact, with
// the defaults and with --plugin-opts. It also checks that the options
// reach the plugins (log=FILE, a key that needs escapes and never shows
// in any output, SIGUSR1's snapshot in that log), that a bad option is a
// clear error in shadowsocks' output, and that the plugins exit with
// shadowsocks. It has no non-test code; the tests skip, saying why, when
// ss-server, ss-local, curl or go are not installed (.ci/run installs
// shadowsocks-libev and curl).
package sip003
