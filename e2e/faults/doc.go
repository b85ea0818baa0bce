// Package faults holds the fault tests that need the built binaries: it
// builds the client and server into a temporary directory and checks how
// the processes behave on SIGTERM and SIGINT (stop accepting, let open
// streams finish within the grace period, exit 0) and under a low file
// descriptor limit (the client's accept loop backs off and recovers). It
// has no non-test code; the tests skip with -short or without go.
package faults
