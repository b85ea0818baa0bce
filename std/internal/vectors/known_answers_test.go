package vectors

import (
	"bytes"
	"encoding/hex"
	"io"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/kcptun-go/tunnel/std/crypt"
	"github.com/kcptun-go/tunnel/std/stream"
)

func TestKDFKnownAnswers(t *testing.T) {
	var kdf struct {
		Vectors []struct {
			Key        string `json:"key"`
			KeyLen     int    `json:"key_len"`
			DerivedHex string `json:"derived_hex"`
		} `json:"vectors"`
	}
	readJSON(t, filepath.Join(vectorsDir(t), "kdf.json"), &kdf)
	if len(kdf.Vectors) == 0 {
		t.Fatal("kdf.json has no vectors")
	}
	for _, v := range kdf.Vectors {
		if len(v.Key) != v.KeyLen {
			t.Fatalf("key %q: length %d, recorded %d", v.Key, len(v.Key), v.KeyLen)
		}
		if got := hex.EncodeToString(crypt.DeriveKey(v.Key)); got != v.DerivedHex {
			t.Errorf("DeriveKey(%q) = %s, want %s", v.Key, got, v.DerivedHex)
		}
	}
}

func TestQPPKnownAnswers(t *testing.T) {
	var qf struct {
		Seed    string `json:"seed"`
		Vectors []struct {
			QPPCount      int    `json:"qpp_count"`
			PlaintextHex  string `json:"plaintext_hex"`
			CiphertextHex string `json:"ciphertext_hex"`
		} `json:"vectors"`
	}
	readJSON(t, filepath.Join(vectorsDir(t), "qpp.json"), &qf)
	if len(qf.Vectors) == 0 {
		t.Fatal("qpp.json has no vectors")
	}
	for _, v := range qf.Vectors {
		plain, err1 := hex.DecodeString(v.PlaintextHex)
		want, err2 := hex.DecodeString(v.CiphertextHex)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		q, err := stream.NewQPP(qf.Seed, v.QPPCount)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []int{len(plain), 1, 3, 5, 8, 13, 100} {
			c := newByteConn(nil)
			w := q.Wrap(c)
			for off := 0; off < len(plain); off += step {
				if _, err := w.Write(plain[off:min(off+step, len(plain))]); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(c.out.Bytes(), want) {
				t.Errorf("%d pads, writes of %d bytes: ciphertext differs from qpp.json", v.QPPCount, step)
			}
		}
		got, err := io.ReadAll(iotest.OneByteReader(q.Wrap(newByteConn(want))))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d pads: decrypting byte by byte gives %x, %v", v.QPPCount, got, err)
		}
	}
}
