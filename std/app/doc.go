// Package app is the process around a tunnel role, shared by both mains:
// it opens the log, prints configuration warnings, starts pprof, the
// SNMP log and the --metrics page, answers SIGUSR1 (the KCP SNMP line and
// the session table), and turns SIGINT/SIGTERM into a graceful
// shutdown bounded by a grace period.
package app
