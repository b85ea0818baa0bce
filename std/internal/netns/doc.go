// Package netns makes throwaway Linux network namespaces for tests that
// need a real network stack of their own: a veth link between two
// namespaces, commands and sockets inside them, and their firewall rules.
// Namespaces get unique names and are deleted in t.Cleanup, which takes
// their links and firewall rules with them. Every helper needs root; the
// tests call Require first, which skips elsewhere. RunInside runs a test
// again as a process wholly inside a namespace.
package netns
