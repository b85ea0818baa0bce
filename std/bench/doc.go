// Package bench measures kcptun-compatible tunnels over an emulated link:
// it starts a client and a server binary with a netem.Relay between them,
// runs verified workloads through the tunnel against a target served in
// this process (one large download, 64-byte echo probes idle and under
// load, many parallel streams, many idle connections held open), and
// reports goodput, round-trip times, CPU seconds per GB, peak RSS, the RSS
// each idle connection costs the client and server, and wire bytes per
// payload byte.
//
// Run executes a Config (a list of scenarios, each a named netem.Spec, for
// one or two pairs of binaries, in A B A B rounds) and returns a Report
// whose medians and B/A ratios WriteTable prints and WriteJSON and
// WritePlot save. ParseArgs turns the bench command's flags into a Config.
//
// On Linux as root the same workloads can also run over plain kernel TCP
// (cubic, bbr: Config.Baselines) between two network namespaces the bench
// creates and removes, whose TUN devices a user-space forwarder joins
// through the same emulated link: the baseline a user would pick instead
// of a tunnel.
//
// The machine's load shows in the numbers: every run reports how late the
// emulator delivered its packets (the 99th percentile; netem reports its
// maximum once more than 1 % are over 20 ms late), and the table prints it
// beside the results.
//
// Every byte a workload receives is checked against the deterministic
// pattern the target sent (Pattern), so a fast but corrupting tunnel
// fails instead of scoring well.
package bench
