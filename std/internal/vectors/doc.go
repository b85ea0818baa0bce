// Package vectors holds the golden-vector tests: datagrams recorded
// between an unmodified kcptun v20240729 client and server (and, for
// aes-128-gcm, kcptun mainline) in ../shared/vectors, decoded with this
// project's own layers (std/crypt, kcp-go, std/stream) down to the bytes
// the applications exchanged. It has no non-test code.
package vectors
