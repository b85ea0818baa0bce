// Package portrange parses kcptun's address-with-port-range syntax:
// "HOST:PORT" or "HOST:MIN-MAX", with IPv6 hosts in brackets
// ("[::1]:29900", "[::1]:4000-4010") and an empty host allowed (":4000").
//
// The client dials a uniformly random port of the range for every new KCP
// session (Range.Pick); the server listens on every port (Range.Addrs).
package portrange
