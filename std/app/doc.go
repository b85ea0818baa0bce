// Package app is the process around a tunnel role, shared by both mains:
// it opens the log, prints configuration warnings, starts pprof, the
// SNMP log and the --metrics page, answers SIGUSR1 (the KCP SNMP line and
// the session table), and turns SIGINT/SIGTERM into a graceful
// shutdown bounded by a grace period. It also sets the runtime up for a
// tunnel: the collector's target (GOGC) and the processors Go code runs
// on (procScaler), each unless the environment sets it.
package app
