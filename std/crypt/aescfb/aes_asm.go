//go:build (amd64 || arm64) && !purego

package aescfb

// encryptBlocks8 sets the 8 blocks at dst to the cipher of the 8 blocks
// at src (which may be dst), with rounds rounds of the round keys at rk.
//
//go:noescape
func encryptBlocks8(rounds int, rk *byte, dst, src *byte)

// encryptBlock1 is encryptBlocks8 for one block.
//
//go:noescape
func encryptBlock1(rounds int, rk *byte, dst, src *byte)

// cfbEncrypt8 CFB-encrypts in place the first blocks blocks (≥ 1) of the
// 8 packets at ptrs, each starting from iv, side by side.
//
//go:noescape
func cfbEncrypt8(rounds int, rk *byte, iv *byte, ptrs *[lanes]*byte, blocks int)
