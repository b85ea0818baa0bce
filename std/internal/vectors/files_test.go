package vectors

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// transcript is one recorded kcptun session (see shared/vectors/README.md).
type transcript struct {
	Name            string `json:"name"`
	Key             string `json:"key"`
	Crypt           string `json:"crypt"`
	EffectiveParams struct {
		DataShard   int  `json:"datashard"`
		ParityShard int  `json:"parityshard"`
		NoComp      bool `json:"nocomp"`
		SmuxVer     int  `json:"smuxver"`
		QPP         bool `json:"qpp"`
		QPPCount    int  `json:"qpp_count"`
	} `json:"effective_params"`
	PBKDF2KeyHex string `json:"pbkdf2_key_hex"`
	Connections  []struct {
		Index          int    `json:"index"`
		RequestLen     int    `json:"request_len"`
		RequestSHA256  string `json:"request_sha256"`
		ResponseLen    int    `json:"response_len"`
		ResponseSHA256 string `json:"response_sha256"`
		SmuxStreamID   uint32 `json:"smux_stream_id"`
	} `json:"connections"`
	Derived struct {
		KCPConv uint32    `json:"kcp_conv"`
		C2S     direction `json:"c2s"`
		S2C     direction `json:"s2c"`
	} `json:"derived"`
	Datagrams []struct {
		Dir string `json:"dir"`
		Hex string `json:"hex"`
	} `json:"datagrams"`
}

// direction holds the derived values of one direction.
type direction struct {
	Datagrams         int      `json:"datagrams"`
	FECDataShards     int      `json:"fec_data_shards"`
	FECParityShards   int      `json:"fec_parity_shards"`
	KCPSegments       int      `json:"kcp_segments"`
	KCPPushSegments   int      `json:"kcp_push_segments"`
	KCPPushUniqueSN   int      `json:"kcp_push_unique_sn"`
	KCPAckSegments    int      `json:"kcp_ack_segments"`
	KCPWaskSegments   int      `json:"kcp_wask_segments"`
	KCPWinsSegments   int      `json:"kcp_wins_segments"`
	KCPStreamLen      int      `json:"kcp_stream_len"`
	KCPStreamSHA256   string   `json:"kcp_stream_sha256"`
	SmuxLayerLen      int      `json:"smux_layer_len"`
	SmuxLayerSHA256   string   `json:"smux_layer_sha256"`
	SmuxFramesInOrder []string `json:"smux_frames_in_order"`
	PayloadBeforeQPP  []string `json:"stream_payload_sha256_before_qpp_decrypt"`
}

// datagrams returns the raw datagrams sent in direction dir ("c2s", "s2c").
func (tr *transcript) datagrams(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	for i, d := range tr.Datagrams {
		if d.Dir != dir {
			continue
		}
		b, err := hex.DecodeString(d.Hex)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		out = append(out, b)
	}
	return out
}

// vectorsDir finds shared/vectors beside the repository by walking up
// from the package directory; it skips the test when there is none.
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "vectors")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no shared/vectors directory above the repository: golden vectors not available")
		}
		dir = parent
	}
}

// transcriptFiles lists the recorded sessions (every *.json but the
// known-answer files).
func transcriptFiles(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(vectorsDir(t), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if base := filepath.Base(f); base != "kdf.json" && base != "qpp.json" {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatal("shared/vectors has no transcript files")
	}
	return files
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// request is REQ(n): "kcptun-vector request n " repeated to 3000 bytes.
func request(n int) []byte {
	unit := "kcptun-vector request " + strconv.Itoa(n) + " "
	return []byte(strings.Repeat(unit, 3000/len(unit)+1)[:3000])
}

// response is RESP: byte i = i*7 mod 251, 20000 bytes.
func response() []byte {
	b := make([]byte, 20000)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}
