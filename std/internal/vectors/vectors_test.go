package vectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/golang/snappy"
	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/kcptun-go/tunnel/std/crypt"
	"github.com/kcptun-go/tunnel/std/stream"
)

// TestTranscriptsDecode decodes both directions of every recorded session
// and checks README "What a test should assert", plus the derived
// per-layer values.
func TestTranscriptsDecode(t *testing.T) {
	files := transcriptFiles(t)
	before := kcp.DefaultSnmp.Copy()
	t.Run("file", func(t *testing.T) {
		for _, f := range files {
			t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
				t.Parallel()
				var tr transcript
				readJSON(t, f, &tr)
				checkTranscript(t, &tr)
			})
		}
	})
	after := kcp.DefaultSnmp.Copy()
	if after.InCsumErrors != before.InCsumErrors || after.KCPInErrors != before.KCPInErrors {
		t.Errorf("kcp-go counted %d checksum/tag errors and %d KCP input errors during the replays",
			after.InCsumErrors-before.InCsumErrors, after.KCPInErrors-before.KCPInErrors)
	}
}

func checkTranscript(t *testing.T, tr *transcript) {
	pass := crypt.DeriveKey(tr.Key)
	if got := hex.EncodeToString(pass); got != tr.PBKDF2KeyHex {
		t.Fatalf("derived key %s, recorded %s", got, tr.PBKDF2KeyHex)
	}
	var q *stream.QPP
	if tr.EffectiveParams.QPP {
		var err error
		if q, err = stream.NewQPP(tr.Key, tr.EffectiveParams.QPPCount); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"c2s", "s2c"} {
		want := tr.Derived.C2S
		if dir == "s2c" {
			want = tr.Derived.S2C
		}
		streams := decodeDirection(t, tr, dir, pass, &want)
		if streams == nil {
			return
		}
		checkStreams(t, tr, dir, streams, q, &want)
	}
}

// decodeDirection takes one direction from datagrams to smux streams.
func decodeDirection(t *testing.T, tr *transcript, dir string, pass []byte, want *direction) []*smuxStream {
	t.Helper()
	p := tr.EffectiveParams
	pkts := tr.datagrams(t, dir)
	newBlock := func() kcp.BlockCrypt {
		b, err := crypt.NewWithDerivedKey(tr.Crypt, pass)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	got, err := inspect(newBlock(), p.DataShard > 0 && p.ParityShard > 0, tr.Derived.KCPConv, pkts)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	gotCounts := [...]int{got.datagrams, got.fecData, got.fecParity, got.segments, got.push, got.uniqueSN, got.ack, got.wask, got.wins}
	wantCounts := [...]int{want.Datagrams, want.FECDataShards, want.FECParityShards, want.KCPSegments, want.KCPPushSegments,
		want.KCPPushUniqueSN, want.KCPAckSegments, want.KCPWaskSegments, want.KCPWinsSegments}
	if gotCounts != wantCounts {
		t.Errorf("%s: datagrams, FEC data/parity, KCP segments/PUSH/unique sn/ACK/WASK/WINS = %v, derived %v", dir, gotCounts, wantCounts)
	}

	kcpStream := replayKCP(t, newBlock(), p.DataShard, p.ParityShard, pkts, want.KCPStreamLen, false)
	if sum := sha256Hex(kcpStream); sum != want.KCPStreamSHA256 {
		t.Errorf("%s: KCP stream SHA-256 %s, derived %s", dir, sum, want.KCPStreamSHA256)
	}
	// --mode auto opens the packets itself (transport.SealConn) for
	// every cipher but aes-128-gcm: kcptun's datagrams must give it the
	// same stream.
	if tr.Crypt != "aes-128-gcm" {
		if sealed := replayKCP(t, newBlock(), p.DataShard, p.ParityShard, pkts, want.KCPStreamLen, true); !bytes.Equal(sealed, kcpStream) {
			t.Errorf("%s: through a SealConn the KCP stream differs (%d bytes, SHA-256 %s)", dir, len(sealed), sha256Hex(sealed))
		}
	}
	if !bytes.Equal(kcpStream, got.stream) {
		t.Errorf("%s: kcp-go's stream differs from the PUSH payloads in sn order", dir)
	}

	layer := kcpStream
	if !p.NoComp {
		layer = decompress(t, dir, kcpStream)
	}
	if len(layer) != want.SmuxLayerLen || sha256Hex(layer) != want.SmuxLayerSHA256 {
		t.Errorf("%s: smux layer %d bytes SHA-256 %s, derived %d bytes %s", dir, len(layer), sha256Hex(layer), want.SmuxLayerLen, want.SmuxLayerSHA256)
	}
	mux, err := parseSmux(layer, p.SmuxVer)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	if !slices.Equal(mux.frames, want.SmuxFramesInOrder) {
		t.Errorf("%s: smux frames\n%q\nderived\n%q", dir, mux.frames, want.SmuxFramesInOrder)
	}
	return mux.streams
}

// decompress undoes the snappy framing with NewCompConn, cross-checked
// with golang/snappy's reader.
func decompress(t *testing.T, dir string, b []byte) []byte {
	t.Helper()
	ours, err := io.ReadAll(stream.NewCompConn(newByteConn(b)))
	if err != nil {
		t.Fatalf("%s: snappy framing: %v", dir, err)
	}
	ref, err := io.ReadAll(snappy.NewReader(bytes.NewReader(b)))
	if err != nil || !bytes.Equal(ours, ref) {
		t.Fatalf("%s: NewCompConn and golang/snappy disagree (%v)", dir, err)
	}
	return ours
}

// checkStreams compares each stream's payload with REQ(N) or RESP.
func checkStreams(t *testing.T, tr *transcript, dir string, streams []*smuxStream, q *stream.QPP, want *direction) {
	t.Helper()
	var sids []uint32
	for _, c := range tr.Connections {
		sids = append(sids, c.SmuxStreamID)
	}
	var gotSids []uint32
	for _, s := range streams {
		gotSids = append(gotSids, s.sid)
	}
	if !slices.Equal(gotSids, sids) || !slices.Equal(sids, []uint32{3, 5}) {
		t.Fatalf("%s: streams %v, want %v (3 and 5)", dir, gotSids, sids)
	}
	for i, s := range streams {
		c := tr.Connections[i]
		payload := s.payload
		if q != nil {
			if wantSum := fmt.Sprintf("sid %d: %s", s.sid, sha256Hex(payload)); i >= len(want.PayloadBeforeQPP) || want.PayloadBeforeQPP[i] != wantSum {
				t.Errorf("%s: QPP ciphertext %q, derived %q", dir, wantSum, want.PayloadBeforeQPP)
			}
			var err error
			if payload, err = io.ReadAll(q.Wrap(newByteConn(payload))); err != nil {
				t.Fatal(err)
			}
		}
		expect, name := request(c.Index), fmt.Sprintf("REQ(%d)", c.Index)
		if dir == "s2c" {
			expect, name = response(), "RESP"
		}
		if !bytes.Equal(payload, expect) {
			t.Errorf("%s sid %d: %d bytes, not %s", dir, s.sid, len(payload), name)
		}
		if !s.fin {
			t.Errorf("%s sid %d: no FIN", dir, s.sid)
		}
		if s.syn != (dir == "c2s") {
			t.Errorf("%s sid %d: SYN %v", dir, s.sid, s.syn)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestGeneratorsMatchRecordedHashes guards REQ(N) and RESP themselves.
func TestGeneratorsMatchRecordedHashes(t *testing.T) {
	var tr transcript
	readJSON(t, transcriptFiles(t)[0], &tr)
	for _, c := range tr.Connections {
		if sha256Hex(request(c.Index)) != c.RequestSHA256 || len(request(c.Index)) != c.RequestLen {
			t.Errorf("REQ(%d) does not match the recorded hash", c.Index)
		}
		if sha256Hex(response()) != c.ResponseSHA256 || len(response()) != c.ResponseLen {
			t.Error("RESP does not match the recorded hash")
		}
	}
}
