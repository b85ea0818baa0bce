package aescfb

import (
	"crypto/aes"
	"crypto/subtle"
	"slices"

	kcp "github.com/xtaci/kcp-go/v5"
)

// iv is kcp-go's initial vector: the first block of every packet's
// keystream is its cipher, and the packet's first 16 bytes (a random
// nonce) make the rest of the keystream differ from packet to packet.
var iv = [blockSize]byte{167, 115, 79, 156, 18, 172, 27, 1, 164, 21, 242, 193, 252, 120, 230, 107}

const (
	blockSize = 16
	lanes     = 8 // blocks that go through the rounds together
	// chunkBlocks is how much keystream Decrypt works out at once, and
	// the longest run of blocks EncryptMany takes in step: a packet of
	// up to 1536 bytes in one go.
	chunkBlocks = 96
)

// Cipher is kcp-go's AES-CFB packet cipher (kcp.NewAESBlockCrypt) for one
// key. It keeps no state between calls: Encrypt, Decrypt and EncryptMany
// may run at once on one Cipher.
type Cipher struct {
	rk     [maxRoundKeys]byte // the round keys, for the assembly
	rounds int
	first  [blockSize]byte // the cipher of iv: every packet's first keystream block
	// kcpgo is kcp-go's own cipher, which does the work where the
	// assembly does not run (nil where it does).
	kcpgo kcp.BlockCrypt
}

// New returns the Cipher for a 16-, 24- or 32-byte key (AES-128, -192,
// -256).
func New(key []byte) (*Cipher, error) {
	return newCipher(key, hasAsm)
}

func newCipher(key []byte, asm bool) (*Cipher, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	c := &Cipher{}
	if !asm {
		// kcp-go's cipher keeps its scratch blocks in itself; ours on
		// the stack would escape through crypto/aes's interface.
		c.kcpgo, err = kcp.NewAESBlockCrypt(key)
		return c, err
	}
	c.rk, c.rounds = expandKey(key)
	block.Encrypt(c.first[:], iv[:])
	return c, nil
}

// encryptBlocks sets each 16-byte block of dst to the AES cipher of the
// block of src in its place; len(src) is a multiple of 16, dst is as
// long, and may be src itself.
func (c *Cipher) encryptBlocks(dst, src []byte) {
	o := 0
	for ; o+lanes*blockSize <= len(src); o += lanes * blockSize {
		encryptBlocks8(c.rounds, &c.rk[0], &dst[o], &src[o])
	}
	for ; o < len(src); o += blockSize {
		encryptBlock1(c.rounds, &c.rk[0], &dst[o], &src[o])
	}
}

// Encrypt sets dst to src encrypted, as kcp-go's AES BlockCrypt does;
// dst is at least as long as src, and may be src itself.
func (c *Cipher) Encrypt(dst, src []byte) {
	if c.kcpgo != nil {
		c.kcpgo.Encrypt(dst, src)
		return
	}
	c.encryptFrom(dst, src, 0)
}

// encryptFrom encrypts src into dst from its block from on, the blocks
// before it being encrypted already in dst. A block's keystream is the
// cipher of the ciphertext block before it (of iv, for the first), so
// one packet goes a block at a time.
func (c *Cipher) encryptFrom(dst, src []byte, from int) {
	var ks [blockSize]byte
	for o := from * blockSize; o < len(src); o += blockSize {
		if o == 0 {
			ks = c.first
		} else {
			c.encryptBlocks(ks[:], dst[o-blockSize:o])
		}
		subtle.XORBytes(dst[o:], src[o:min(o+blockSize, len(src))], ks[:])
	}
}

// Decrypt sets dst to src decrypted, as kcp-go's AES BlockCrypt does;
// dst is at least as long as src, and may be src itself. Every block's
// keystream is the cipher of a ciphertext block in src, so they are
// worked out eight at a time.
func (c *Cipher) Decrypt(dst, src []byte) {
	if c.kcpgo != nil {
		c.kcpgo.Decrypt(dst, src)
		return
	}
	var ks [chunkBlocks * blockSize]byte
	var prev [blockSize]byte // the last ciphertext block of the chunk before
	for s := 0; s < len(src); s += len(ks) {
		e := min(s+len(ks), len(src))
		if s == 0 {
			copy(ks[:blockSize], c.first[:])
		} else {
			c.encryptBlocks(ks[:blockSize], prev[:])
		}
		more := (e - s - 1) / blockSize // keystream blocks after the first
		c.encryptBlocks(ks[blockSize:(1+more)*blockSize], src[s:s+more*blockSize])
		if e < len(src) { // before dst, which may be src, changes it
			copy(prev[:], src[e-blockSize:e])
		}
		subtle.XORBytes(dst[s:e], src[s:e], ks[:e-s])
	}
}

// EncryptMany encrypts each packet in place, as Encrypt(p, p) does. A
// packet's blocks chain, so it runs eight packets side by side, one
// block of each per step, for as many blocks as the eight all have (the
// packets are taken longest first, so that those of a size go
// together); what is left of each goes on alone. It reorders pkts.
func (c *Cipher) EncryptMany(pkts [][]byte) {
	if c.kcpgo != nil {
		for _, p := range pkts {
			c.kcpgo.Encrypt(p, p)
		}
		return
	}
	slices.SortFunc(pkts, func(a, b []byte) int { return len(b) - len(a) })
	var ptrs [lanes]*byte
	var spare [chunkBlocks * blockSize]byte // the lanes a group of fewer than eight leaves
	for len(pkts) > 0 {
		group := pkts[:min(lanes, len(pkts))]
		pkts = pkts[len(group):]
		common := min(len(group[len(group)-1])/blockSize, chunkBlocks)
		if common > 0 {
			for i := range ptrs {
				ptrs[i] = &spare[0]
				if i < len(group) {
					ptrs[i] = &group[i][0]
				}
			}
			cfbEncrypt8(c.rounds, &c.rk[0], &iv[0], &ptrs, common)
		}
		for _, p := range group {
			c.encryptFrom(p, p, common)
		}
	}
}
