//go:build (!amd64 && !arm64) || purego

package aescfb

// hasAsm: no assembly here; every block goes through crypto/aes.
const hasAsm = false

func encryptBlocks8(rounds int, rk *byte, dst, src *byte) { panic("aescfb: no assembly") }

func encryptBlock1(rounds int, rk *byte, dst, src *byte) { panic("aescfb: no assembly") }

func cfbEncrypt8(rounds int, rk *byte, iv *byte, ptrs *[lanes]*byte, blocks int) {
	panic("aescfb: no assembly")
}
