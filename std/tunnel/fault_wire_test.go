package tunnel

import (
	"encoding/binary"
	"hash/crc32"

	kcp "github.com/xtaci/kcp-go/v5"
)

// Builders of hand-made datagrams for the fault and fuzz tests: what a
// peer holding the key could send, layer by layer (smux frame, snappy
// framing, KCP segment, FEC header, crypt header).

const (
	cryptNonceLen  = 16 // the crypt header: random nonce, then CRC32 of the rest
	cryptHeaderLen = cryptNonceLen + 4
	kcpCmdPush     = 81
	fecTypeData    = 0xf1
	fecTypeParity  = 0xf2
	smuxCmdSYN     = 0
	smuxCmdFIN     = 1
	smuxCmdPSH     = 2
	smuxCmdNOP     = 3
	snappyMagic    = "\xff\x06\x00\x00sNaPpY"
)

// seal puts the crypt header on plain (nonce, CRC32 IEEE little endian)
// and encrypts the whole packet, as kcp-go does before sending. A nil
// block is --crypt null: the packet goes out as it is.
func seal(block kcp.BlockCrypt, nonce byte, plain []byte) []byte {
	if block == nil {
		return append([]byte(nil), plain...)
	}
	pkt := make([]byte, cryptHeaderLen+len(plain))
	for i := 0; i < cryptNonceLen; i++ {
		pkt[i] = nonce + byte(i)
	}
	binary.LittleEndian.PutUint32(pkt[cryptNonceLen:], crc32.ChecksumIEEE(plain))
	copy(pkt[cryptHeaderLen:], plain)
	block.Encrypt(pkt, pkt)
	return pkt
}

// kcpSegment is one KCP segment header and its data.
func kcpSegment(conv uint32, cmd byte, sn, una uint32, data []byte) []byte {
	b := make([]byte, 24, 24+len(data))
	binary.LittleEndian.PutUint32(b[0:], conv)
	b[4] = cmd
	b[5] = 0                                  // frg
	binary.LittleEndian.PutUint16(b[6:], 256) // wnd
	binary.LittleEndian.PutUint32(b[8:], 0)   // ts
	binary.LittleEndian.PutUint32(b[12:], sn)
	binary.LittleEndian.PutUint32(b[16:], una)
	binary.LittleEndian.PutUint32(b[20:], uint32(len(data)))
	return append(b, data...)
}

// fecData wraps KCP bytes in kcp-go's FEC data shard header.
func fecData(seq uint32, kcpBytes []byte) []byte {
	b := make([]byte, 8, 8+len(kcpBytes))
	binary.LittleEndian.PutUint32(b[0:], seq)
	binary.LittleEndian.PutUint16(b[4:], fecTypeData)
	binary.LittleEndian.PutUint16(b[6:], uint16(len(kcpBytes)+2))
	return append(b, kcpBytes...)
}

// fecParity is a parity shard header with arbitrary parity bytes.
func fecParity(seq uint32, parity []byte) []byte {
	b := make([]byte, 6, 6+len(parity))
	binary.LittleEndian.PutUint32(b[0:], seq)
	binary.LittleEndian.PutUint16(b[4:], fecTypeParity)
	return append(b, parity...)
}

// smuxFrame is one smux frame of protocol version ver.
func smuxFrame(ver, cmd byte, sid uint32, data []byte) []byte {
	b := make([]byte, 8, 8+len(data))
	b[0], b[1] = ver, cmd
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	binary.LittleEndian.PutUint32(b[4:], sid)
	return append(b, data...)
}

// snappyStream is the snappy framing of data: the stream identifier and
// one uncompressed chunk.
func snappyStream(data []byte) []byte {
	b := []byte(snappyMagic)
	n := 4 + len(data)
	b = append(b, 0x01, byte(n), byte(n>>8), byte(n>>16))
	c := crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), data)
	b = binary.LittleEndian.AppendUint32(b, (c>>15|c<<17)+0xa282ead8)
	return append(b, data...)
}
