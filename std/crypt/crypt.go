package crypt

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"fmt"
	"sort"
	"strings"
	"sync"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/crypt/aescfb"
)

// Salt and Iterations are kcptun's key-derivation parameters.
const (
	Salt       = "kcp-go"
	Iterations = 4096
	KeyLen     = 32
)

// Per-packet overheads in bytes added by the crypt layer.
const (
	headerOverhead = 20 // 16-byte nonce + CRC32
	gcmOverhead    = 28 // 12-byte nonce + 16-byte tag
)

type cipherSpec struct {
	keyLen   int // bytes of the derived key used
	overhead int
	newFn    func(key []byte) (kcp.BlockCrypt, error)
}

var table = map[string]cipherSpec{
	"aes":         {32, headerOverhead, newAES},
	"aes-128":     {16, headerOverhead, newAES},
	"aes-192":     {24, headerOverhead, newAES},
	"salsa20":     {32, headerOverhead, kcp.NewSalsa20BlockCrypt},
	"blowfish":    {32, headerOverhead, kcp.NewBlowfishBlockCrypt},
	"twofish":     {32, headerOverhead, kcp.NewTwofishBlockCrypt},
	"cast5":       {16, headerOverhead, kcp.NewCast5BlockCrypt},
	"3des":        {24, headerOverhead, kcp.NewTripleDESBlockCrypt},
	"tea":         {16, headerOverhead, kcp.NewTEABlockCrypt},
	"xtea":        {16, headerOverhead, kcp.NewXTEABlockCrypt},
	"xor":         {32, headerOverhead, kcp.NewSimpleXORBlockCrypt},
	"sm4":         {16, headerOverhead, newLockedSM4},
	"none":        {32, headerOverhead, kcp.NewNoneBlockCrypt},
	"null":        {0, 0, nil},
	"aes-128-gcm": {16, gcmOverhead, kcp.NewAESGCMCrypt},
}

var aliases = map[string]string{"aes-256": "aes"}

// canonical resolves aliases; ok is false for unknown names.
func canonical(name string) (string, bool) {
	if a, ok := aliases[name]; ok {
		name = a
	}
	_, ok := table[name]
	return name, ok
}

// Names lists the accepted --crypt values (aliases included), sorted.
func Names() []string {
	names := make([]string, 0, len(table)+len(aliases))
	for n := range table {
		names = append(names, n)
	}
	for a := range aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	return names
}

// Valid reports whether name is an accepted --crypt value.
func Valid(name string) bool {
	_, ok := canonical(name)
	return ok
}

// Overhead returns the bytes the crypt layer adds to each packet
// (0 for null, 28 for aes-128-gcm, 20 otherwise). Unknown names give 20.
func Overhead(name string) int {
	n, ok := canonical(name)
	if !ok {
		return headerOverhead
	}
	return table[n].overhead
}

// AEAD reports whether name is an AEAD cipher (aes-128-gcm), which
// kcp-go seals with a nonce and a tag instead of a nonce, a CRC32 and a
// block cipher.
func AEAD(name string) bool {
	n, ok := canonical(name)
	return ok && table[n].overhead == gcmOverhead
}

// DeriveKey returns PBKDF2-HMAC-SHA1(key, "kcp-go", 4096, 32).
func DeriveKey(key string) []byte {
	k, err := pbkdf2.Key(sha1.New, key, []byte(Salt), Iterations, KeyLen)
	if err != nil { // only for FIPS-140 only mode or absurd lengths
		panic(fmt.Sprintf("crypt: pbkdf2: %v", err))
	}
	return k
}

// ErrUnknown is returned by New for a name that is not in Names.
var ErrUnknown = fmt.Errorf("unknown crypt")

// New builds the packet cipher for --crypt name from the raw --key string.
// It returns (nil, nil) for "null", which means no crypt layer at all.
func New(name, key string) (kcp.BlockCrypt, error) {
	n, ok := canonical(name)
	if !ok {
		return nil, fmt.Errorf("%w %q: valid values are %s", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return NewWithDerivedKey(n, DeriveKey(key))
}

// NewWithDerivedKey is New for an already derived 32-byte key (DeriveKey),
// so a caller that builds several ciphers pays for PBKDF2 once.
func NewWithDerivedKey(name string, pass []byte) (kcp.BlockCrypt, error) {
	n, ok := canonical(name)
	if !ok {
		return nil, fmt.Errorf("%w %q: valid values are %s", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	spec := table[n]
	if spec.newFn == nil {
		return nil, nil
	}
	if len(pass) < spec.keyLen {
		return nil, fmt.Errorf("crypt %s: derived key is %d bytes, need %d", n, len(pass), spec.keyLen)
	}
	bc, err := spec.newFn(pass[:spec.keyLen])
	if err != nil {
		return nil, fmt.Errorf("crypt %s: %w", n, err)
	}
	return bc, nil
}

// newAES is kcp-go's AES cipher, the same bytes, several blocks at a time
// (aescfb). Its EncryptMany seals a batch of packets eight side by side.
func newAES(key []byte) (kcp.BlockCrypt, error) {
	return aescfb.New(key)
}

// lockedCrypt serialises Encrypt and Decrypt of a cipher whose
// implementation shares scratch buffers between them (tjfoc/gmsm's sm4):
// kcp-go encrypts on the sender goroutine while the reader decrypts.
type lockedCrypt struct {
	mu sync.Mutex
	bc kcp.BlockCrypt
}

func (l *lockedCrypt) Encrypt(dst, src []byte) {
	l.mu.Lock()
	l.bc.Encrypt(dst, src)
	l.mu.Unlock()
}

func (l *lockedCrypt) Decrypt(dst, src []byte) {
	l.mu.Lock()
	l.bc.Decrypt(dst, src)
	l.mu.Unlock()
}

func newLockedSM4(key []byte) (kcp.BlockCrypt, error) {
	bc, err := kcp.NewSM4BlockCrypt(key)
	if err != nil {
		return nil, err
	}
	return &lockedCrypt{bc: bc}, nil
}
