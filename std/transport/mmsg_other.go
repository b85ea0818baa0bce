//go:build !linux

package transport

import "net"

// rawReader returns pc's batched reads (x/net's), or nil when pc is not
// a UDP socket.
func rawReader(pc net.PacketConn) batchReceiver { return batchCalls(pc) }
