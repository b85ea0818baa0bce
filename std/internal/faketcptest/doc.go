// Package faketcptest tests --tcp end to end, as a user runs it: the built
// client and server binaries in two network namespaces joined by a veth
// link, carrying data byte-exact over fake TCP (with and without loss),
// no UDP on the link, and no firewall rule left behind on any way out.
// The tests need root (CI runs as root) and skip without it.
package faketcptest
