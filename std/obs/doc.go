// Package obs is what the tunnel shows of itself: the process logger
// (the key is never logged), kcptun's SNMP CSV log (--snmplog) and
// SIGUSR1 line followed by a per-session table, the Prometheus exposition
// of --metrics (kcp-go's counters, sessions, Go runtime and process, on a
// private registry), and pprof on loopback.
package obs
