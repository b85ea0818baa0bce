package aescfb

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"

	kcp "github.com/xtaci/kcp-go/v5"
)

// both runs f on kcp-go's cipher (what runs where the assembly does not)
// and on the assembly (where it does not run here, it says so).
func both(t *testing.T, f func(t *testing.T, asm bool)) {
	t.Run("kcp-go", func(t *testing.T) { f(t, false) })
	if !hasAsm {
		t.Log("no AES assembly for this machine (amd64 with AES-NI, arm64 with AES): only kcp-go's cipher is tested")
		return
	}
	t.Run("asm", func(t *testing.T) { f(t, true) })
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// FIPS-197 appendix C: the key schedule and the assembly's rounds, for
// all three key sizes.
func TestTheBlockCipherIsAESOnFIPS197sVectors(t *testing.T) {
	if !hasAsm {
		t.Skip("no AES assembly for this machine (amd64 with AES-NI, arm64 with AES): kcp-go's cipher runs, and the other tests check it")
	}
	plain, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	for _, v := range []struct{ key, want string }{
		{"000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"},
		{"000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"},
		{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"},
	} {
		key, _ := hex.DecodeString(v.key)
		t.Run(fmt.Sprint("AES-", len(key)*8), func(t *testing.T) {
			c, err := newCipher(key, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 8, 11} { // one block, eight side by side, eight and three
				src := bytes.Repeat(plain, n)
				dst := make([]byte, len(src))
				c.encryptBlocks(dst, src)
				for i := range n {
					if got := hex.EncodeToString(dst[16*i : 16*i+16]); got != v.want {
						t.Fatalf("AES-%d block %d of %d: %s, want %s", len(key)*8, i, n, got, v.want)
					}
				}
			}
		})
	}
}

// The wire does not change: every packet encrypts and decrypts to what
// kcp-go's AES BlockCrypt makes of it, for every key size and length
// (partial last blocks, packets longer than a chunk), in place or not.
func TestPacketsMatchKcpGosAESBytForByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	both(t, func(t *testing.T, asm bool) {
		for _, keyLen := range []int{16, 24, 32} {
			key := randBytes(rng, keyLen)
			ref, err := kcp.NewAESBlockCrypt(key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := newCipher(key, asm)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{0, 1, 15, 16, 17, 20, 127, 128, 129, 1400, 1519, 1536, 1537, 3100} {
				plain := randBytes(rng, n)
				want := make([]byte, n)
				ref.Encrypt(want, plain)

				got := make([]byte, n)
				c.Encrypt(got, plain)
				if !bytes.Equal(got, want) {
					t.Fatalf("AES-%d, %d bytes: Encrypt differs from kcp-go", keyLen*8, n)
				}
				inPlace := bytes.Clone(plain)
				c.Encrypt(inPlace, inPlace)
				if !bytes.Equal(inPlace, want) {
					t.Fatalf("AES-%d, %d bytes: Encrypt in place differs from kcp-go", keyLen*8, n)
				}

				opened := make([]byte, n)
				c.Decrypt(opened, want)
				if !bytes.Equal(opened, plain) {
					t.Fatalf("AES-%d, %d bytes: Decrypt does not undo kcp-go's", keyLen*8, n)
				}
				c.Decrypt(inPlace, inPlace)
				if !bytes.Equal(inPlace, plain) {
					t.Fatalf("AES-%d, %d bytes: Decrypt in place does not undo kcp-go's", keyLen*8, n)
				}
			}
		}
	})
}

// EncryptMany seals each packet of a batch as Encrypt does, whatever the
// batch's size and the mix of lengths (groups of fewer than eight, runs
// of one size, ACK-sized packets among full ones).
func TestEncryptManyIsEncryptOnEachPacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	both(t, func(t *testing.T, asm bool) {
		c, err := newCipher(randBytes(rng, 32), asm)
		if err != nil {
			t.Fatal(err)
		}
		for _, count := range []int{1, 3, 7, 8, 9, 16, 64} {
			for _, sizes := range [][]int{{1400}, {1400, 1400, 1400, 60}, {0, 5, 16, 33, 1400, 1536, 2000}} {
				pkts := make([][]byte, count)
				want := make([][]byte, count)
				for i := range pkts {
					pkts[i] = randBytes(rng, sizes[rng.IntN(len(sizes))])
					want[i] = make([]byte, len(pkts[i]))
					c.Encrypt(want[i], pkts[i])
				}
				batch := append([][]byte(nil), pkts...)
				c.EncryptMany(batch)
				for i := range pkts {
					if !bytes.Equal(pkts[i], want[i]) {
						t.Fatalf("%d packets of sizes %v: packet %d (%d bytes) differs from Encrypt", count, sizes, i, len(pkts[i]))
					}
				}
			}
		}
	})
}

func TestNewRefusesAKeyOfAnotherSize(t *testing.T) {
	for _, n := range []int{0, 15, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("a %d-byte key: no error", n)
		}
	}
}

func FuzzDecryptUndoesEncrypt(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte("a packet"))
	f.Fuzz(func(t *testing.T, key, plain []byte) {
		key = append(key, make([]byte, 32)...)[:32]
		ref, _ := kcp.NewAESBlockCrypt(key)
		c, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, len(plain))
		ref.Encrypt(want, plain)
		got := bytes.Clone(plain)
		c.EncryptMany([][]byte{got})
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: differs from kcp-go", len(plain))
		}
		c.Decrypt(got, got)
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: Decrypt does not undo Encrypt", len(plain))
		}
	})
}

var sink byte

// Benchmarks, 1400-byte packets, AES-256: kcp-go's BlockCrypt against
// this package's.
func BenchmarkEncrypt(b *testing.B) {
	key := make([]byte, 32)
	ref, _ := kcp.NewAESBlockCrypt(key)
	c, _ := New(key)
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = make([]byte, 1400)
	}
	b.Run("kcp-go", func(b *testing.B) {
		b.SetBytes(1400 * 64)
		for b.Loop() {
			for _, p := range pkts {
				ref.Encrypt(p, p)
			}
		}
	})
	b.Run("one-by-one", func(b *testing.B) {
		b.SetBytes(1400 * 64)
		for b.Loop() {
			for _, p := range pkts {
				c.Encrypt(p, p)
			}
		}
	})
	b.Run("many", func(b *testing.B) {
		b.SetBytes(1400 * 64)
		batch := make([][]byte, len(pkts))
		for b.Loop() {
			copy(batch, pkts)
			c.EncryptMany(batch)
		}
	})
	sink = pkts[0][0]
}

func BenchmarkDecrypt(b *testing.B) {
	key := make([]byte, 32)
	ref, _ := kcp.NewAESBlockCrypt(key)
	c, _ := New(key)
	p := make([]byte, 1400)
	b.Run("kcp-go", func(b *testing.B) {
		b.SetBytes(1400)
		for b.Loop() {
			ref.Decrypt(p, p)
		}
	})
	b.Run("aescfb", func(b *testing.B) {
		b.SetBytes(1400)
		for b.Loop() {
			c.Decrypt(p, p)
		}
	})
	sink = p[0]
}

// A packet costs no allocation: the keystream and the lanes live on the
// stack (a router's heap stays flat at tens of thousands of packets a
// second).
func TestPacketsAllocateNothing(t *testing.T) {
	both(t, func(t *testing.T, asm bool) {
		c, err := newCipher(make([]byte, 32), asm)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 1400)
		batch := [][]byte{p, make([]byte, 1400), make([]byte, 60)}
		if n := testing.AllocsPerRun(100, func() {
			c.Encrypt(p, p)
			c.Decrypt(p, p)
			c.EncryptMany(batch)
		}); n != 0 {
			t.Errorf("%v allocations per packet", n)
		}
	})
}
