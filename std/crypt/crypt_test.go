package crypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	kcp "github.com/xtaci/kcp-go/v5"
)

const testKey = "crypt-test-key"

// kcp-go encrypts on the session's sender goroutine while its reader
// decrypts, on the same BlockCrypt. Every packet cipher must survive that:
// here one goroutine encrypts and another decrypts through one instance,
// each checked against a second instance. (kcp-go's sm4 shares scratch
// buffers between Encrypt and Decrypt; without our lock this test fails,
// and -race reports the race.)
func TestEncryptAndDecryptConcurrentlyOnOneCipher(t *testing.T) {
	for _, name := range Names() {
		if name == "null" || name == "aes-128-gcm" { // no BlockCrypt / an AEAD
			continue
		}
		t.Run(name, func(t *testing.T) {
			shared, ref := mustNew(t, name), mustNew(t, name)
			const packets, size = 300, 1400
			plain := make([][]byte, packets)
			sealed := make([][]byte, packets)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range plain {
				plain[i] = make([]byte, size)
				for j := range plain[i] {
					plain[i][j] = byte(rng.Uint32())
				}
				sealed[i] = make([]byte, size)
				ref.Encrypt(sealed[i], plain[i])
			}

			var wg sync.WaitGroup
			errs := make(chan string, 2)
			wg.Add(2)
			go func() { // encrypt with shared, check with ref
				defer wg.Done()
				out, back := make([]byte, size), make([]byte, size)
				for i := range plain {
					shared.Encrypt(out, plain[i])
					ref.Decrypt(back, out)
					if !bytes.Equal(back, plain[i]) {
						errs <- "a packet encrypted while another was decrypted does not decrypt"
						return
					}
				}
			}()
			go func() { // decrypt with shared
				defer wg.Done()
				out := make([]byte, size)
				for i := range sealed {
					shared.Decrypt(out, sealed[i])
					if !bytes.Equal(out, plain[i]) {
						errs <- "a packet decrypted while another was encrypted is corrupt"
						return
					}
				}
			}()
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}

// aes-128-gcm is kcp-go's AES-GCM AEAD keyed with the first 16 bytes of
// the derived key: what it seals opens with AES-128-GCM under that key,
// and a flipped bit is refused.
func TestAES128GCMIsAESGCMWithTheFirst16KeyBytes(t *testing.T) {
	bc := mustNew(t, "aes-128-gcm")
	aead, ok := bc.(interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
		NonceSize() int
		Overhead() int
	})
	if !ok {
		t.Fatalf("aes-128-gcm gives %T, not an AEAD", bc)
	}
	block, err := aes.NewCipher(DeriveKey(testKey)[:16])
	if err != nil {
		t.Fatal(err)
	}
	std, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	if aead.NonceSize() != std.NonceSize() || aead.Overhead() != std.Overhead() ||
		Overhead("aes-128-gcm") != std.NonceSize()+std.Overhead() {
		t.Fatalf("nonce %d overhead %d (Overhead %d), want AES-GCM's %d and %d",
			aead.NonceSize(), aead.Overhead(), Overhead("aes-128-gcm"), std.NonceSize(), std.Overhead())
	}
	nonce := bytes.Repeat([]byte{7}, std.NonceSize())
	msg := []byte("one KCP packet")
	sealed := aead.Seal(make([]byte, 0, 64), nonce, msg, nil)
	got, err := std.Open(nil, nonce, sealed, nil)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("AES-128-GCM under derived key[:16] opens %q, %v; want %q", got, err, msg)
	}
	sealed[0] ^= 1
	if _, err := std.Open(nil, nonce, sealed, nil); err == nil {
		t.Fatal("a tampered packet was accepted")
	}
}

func TestNamesAndUnknownName(t *testing.T) {
	want := "3des aes aes-128 aes-128-gcm aes-192 aes-256 blowfish cast5 none null salsa20 sm4 tea twofish xor xtea"
	if got := strings.Join(Names(), " "); got != want {
		t.Errorf("Names() = %s\nwant      %s", got, want)
	}
	if bc, err := New("null", testKey); bc != nil || err != nil {
		t.Errorf("New(null) = %v, %v; want no crypt layer", bc, err)
	}
	_, err := New("rot13", testKey)
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), `"rot13"`) || !strings.Contains(err.Error(), "aes-128-gcm") {
		t.Errorf("New(rot13) error %v, want ErrUnknown naming it and the valid names", err)
	}
	if Valid("AES") || Valid("") {
		t.Error("crypt names are case-sensitive and not empty, as in kcptun")
	}
}

func mustNew(t *testing.T, name string) kcp.BlockCrypt {
	t.Helper()
	bc, err := New(name, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return bc
}

func TestAEADIsOnlyGCM(t *testing.T) {
	for _, name := range Names() {
		if got, want := AEAD(name), name == "aes-128-gcm"; got != want {
			t.Errorf("AEAD(%q) = %v, want %v", name, got, want)
		}
	}
	if AEAD("rot13") {
		t.Error("AEAD of an unknown name is true")
	}
}
