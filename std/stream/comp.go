package stream

import (
	"hash/crc32"
	"net"
	"sync"
)

// Snappy framing format constants (github.com/google/snappy framing_format.txt),
// the same values golang/snappy uses.
const (
	chunkHeaderLen  = 4     // type u8, length u24 LE
	checksumLen     = 4     // masked CRC-32C of the uncompressed data, LE
	maxBlockLen     = 65536 // largest uncompressed chunk
	maxEncodedBlock = 76490 // snappy.MaxEncodedLen(maxBlockLen)
	maxChunkBody    = maxEncodedBlock + checksumLen
	magicChunk      = "\xff\x06\x00\x00sNaPpY"

	chunkCompressed   = 0x00
	chunkUncompressed = 0x01
	chunkIdentifier   = 0xff
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is the framing format's checksum of uncompressed data.
func maskedCRC(b []byte) uint32 {
	c := crc32.Update(0, castagnoli, b)
	return (c>>15 | c<<17) + 0xa282ead8
}

// compConn is a net.Conn whose byte stream is carried in snappy's framing
// format over conn. Reads and writes are each serialised by their own mutex;
// the other methods delegate to conn.
type compConn struct {
	net.Conn
	rmu sync.Mutex
	r   frameReader
	wmu sync.Mutex
	w   frameWriter
}

// NewCompConn wraps conn (a KCP session) in snappy framing, byte-compatible
// with golang/snappy's NewBufferedWriter+Flush after every Write and with
// its NewReader: every Write becomes exactly one chunk (or several when
// longer than 64 KiB), compressed when that saves at least 12.5 %.
//
// Unlike golang/snappy's Reader and Writer, errors of conn are not sticky:
// after a deadline expires the stream can be used again, and a write that
// conn accepted only partly is completed before the next one, so the
// framing never desynchronises. Close closes conn.
func NewCompConn(conn net.Conn) net.Conn {
	c := &compConn{Conn: conn}
	c.r.src = conn
	c.w.dst = conn
	return c
}

func (c *compConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.r.Read(p)
}

func (c *compConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.Write(p)
}
