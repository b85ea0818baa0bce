package vectors

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

	kcp "github.com/xtaci/kcp-go/v5"
)

// KCP and FEC wire constants (README "Layering a decoder must undo").
const (
	kcpHeaderLen = 24
	cmdPush      = 81
	cmdAck       = 82
	cmdWask      = 83
	cmdWins      = 84
	fecData      = 0xf1
	fecParity    = 0xf2
	cryptNonce   = 16
	cryptCRC     = 4
)

// aead is the part of kcp-go's AES-GCM BlockCrypt used to open a datagram.
type aead interface {
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	NonceSize() int
}

// counts are the per-direction numbers README's derived values give.
type counts struct {
	datagrams, fecData, fecParity   int
	segments, push, ack, wask, wins int
	uniqueSN                        int
	stream                          []byte // PUSH payloads in sn order
	push0                           map[uint32][]byte
}

// inspect opens every datagram independently of kcp-go's session code:
// each must pass the CRC (or AEAD tag), carry well-formed FEC and KCP
// framing of conversation conv, and leave no byte over.
func inspect(block kcp.BlockCrypt, fec bool, conv uint32, pkts [][]byte) (*counts, error) {
	c := &counts{push0: map[uint32][]byte{}}
	for i, d := range pkts {
		payload, err := openDatagram(block, d)
		if err != nil {
			return nil, fmt.Errorf("datagram %d: %w", i, err)
		}
		if err := c.addDatagram(payload, fec, conv); err != nil {
			return nil, fmt.Errorf("datagram %d: %w", i, err)
		}
	}
	sns := make([]uint32, 0, len(c.push0))
	for sn := range c.push0 {
		sns = append(sns, sn)
	}
	slices.Sort(sns)
	for i, sn := range sns {
		if sn != uint32(i) {
			return nil, fmt.Errorf("PUSH sn %d missing", i)
		}
		c.stream = append(c.stream, c.push0[sn]...)
	}
	c.uniqueSN = len(sns)
	return c, nil
}

// openDatagram undoes the packet crypt: AEAD, or CFB/stream cipher with
// the 16-byte nonce and CRC32 header, or nothing for null.
func openDatagram(block kcp.BlockCrypt, d []byte) ([]byte, error) {
	switch b := block.(type) {
	case nil:
		return d, nil
	case aead:
		ns := b.NonceSize()
		out, err := b.Open(nil, d[:ns], d[ns:], nil)
		if err != nil {
			return nil, fmt.Errorf("AEAD tag: %w", err)
		}
		return out, nil
	default:
		if len(d) < cryptNonce+cryptCRC {
			return nil, fmt.Errorf("%d bytes: shorter than the crypt header", len(d))
		}
		buf := slices.Clone(d)
		b.Decrypt(buf, buf)
		body := buf[cryptNonce+cryptCRC:]
		if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(buf[cryptNonce:]) {
			return nil, fmt.Errorf("CRC mismatch")
		}
		return body, nil
	}
}

func (c *counts) addDatagram(p []byte, fec bool, conv uint32) error {
	c.datagrams++
	if fec {
		if len(p) < 6 {
			return fmt.Errorf("%d bytes: no FEC header", len(p))
		}
		switch binary.LittleEndian.Uint16(p[4:]) {
		case fecParity:
			c.fecParity++
			return nil
		case fecData:
			c.fecData++
			if len(p) < 8 || int(binary.LittleEndian.Uint16(p[6:])) != len(p)-6 {
				return fmt.Errorf("FEC data shard size field does not match its %d bytes", len(p))
			}
			p = p[8:]
		default:
			return fmt.Errorf("FEC flag %#x", binary.LittleEndian.Uint16(p[4:]))
		}
	}
	for len(p) > 0 {
		if len(p) < kcpHeaderLen {
			return fmt.Errorf("%d bytes left after the last KCP segment", len(p))
		}
		if got := binary.LittleEndian.Uint32(p); got != conv {
			return fmt.Errorf("KCP conv %d, want %d", got, conv)
		}
		sn := binary.LittleEndian.Uint32(p[12:])
		n := int(binary.LittleEndian.Uint32(p[20:]))
		if len(p) < kcpHeaderLen+n {
			return fmt.Errorf("KCP segment of %d bytes truncated", n)
		}
		data := p[kcpHeaderLen : kcpHeaderLen+n]
		c.segments++
		switch p[4] {
		case cmdPush:
			c.push++
			if prev, ok := c.push0[sn]; ok && string(prev) != string(data) {
				return fmt.Errorf("PUSH sn %d retransmitted with different bytes", sn)
			}
			c.push0[sn] = data
		case cmdAck:
			c.ack++
		case cmdWask:
			c.wask++
		case cmdWins:
			c.wins++
		default:
			return fmt.Errorf("unknown KCP command %d", p[4])
		}
		p = p[kcpHeaderLen+n:]
	}
	return nil
}
