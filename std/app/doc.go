// Package app is the process around a tunnel role, shared by both mains:
// it opens the log, prints configuration warnings, starts pprof and the
// SNMP log, answers SIGUSR1, and turns SIGINT/SIGTERM into a graceful
// shutdown bounded by a grace period.
package app
