// Package obs is what the tunnel shows of itself: the process logger
// (the key is never logged), kcptun's SNMP CSV log and SIGUSR1 line, and
// pprof on loopback.
package obs
