package stream

import (
	"encoding/binary"
	"io"

	"github.com/golang/snappy"
)

// frameWriter encodes each Write as snappy framing-format chunks and writes
// every chunk to dst with a single Write. A chunk that dst accepted only
// partly stays pending and is completed before anything else is written.
type frameWriter struct {
	dst       io.Writer
	obuf      []byte // stream identifier + chunk header + body
	pending   []byte // unwritten tail of the last chunk (a slice of obuf)
	sentMagic bool
}

const obufHeaderLen = len(magicChunk) + chunkHeaderLen + checksumLen

// Write sends p as one chunk per 64 KiB. It returns len(p) with an error
// when the last chunk was sent only partly: those bytes are committed and
// their remainder goes out first on the next Write.
func (w *frameWriter) Write(p []byte) (int, error) {
	if err := w.flushPending(); err != nil {
		return 0, err
	}
	if w.obuf == nil && len(p) > 0 {
		w.obuf = make([]byte, obufHeaderLen+maxEncodedBlock)
	}
	written := 0
	for len(p) > 0 {
		block := p[:min(len(p), maxBlockLen)]
		frame := w.encode(block)
		k, err := w.dst.Write(frame)
		if k > 0 {
			w.sentMagic = true
		}
		if err == nil && k < len(frame) {
			err = io.ErrShortWrite
		}
		if err != nil {
			if k == 0 {
				return written, err
			}
			w.pending = frame[k:]
			return written + len(block), err
		}
		written += len(block)
		p = p[len(block):]
	}
	return written, nil
}

// encode builds the chunk for block in obuf, preceded by the stream
// identifier if none was sent yet, exactly as golang/snappy's Writer does.
func (w *frameWriter) encode(block []byte) []byte {
	start := len(magicChunk)
	if !w.sentMagic {
		copy(w.obuf, magicChunk)
		start = 0
	}
	hdr := w.obuf[len(magicChunk):obufHeaderLen]
	body := w.obuf[obufHeaderLen:]
	typ := byte(chunkCompressed)
	compressed := snappy.Encode(body, block)
	n := len(compressed)
	if n >= len(block)-len(block)/8 {
		typ = chunkUncompressed
		n = copy(body, block)
	}
	chunkLen := checksumLen + n
	hdr[0] = typ
	hdr[1] = byte(chunkLen)
	hdr[2] = byte(chunkLen >> 8)
	hdr[3] = byte(chunkLen >> 16)
	binary.LittleEndian.PutUint32(hdr[4:], maskedCRC(block))
	return w.obuf[start : obufHeaderLen+n]
}

// flushPending finishes a chunk left incomplete by an earlier error.
func (w *frameWriter) flushPending() error {
	for len(w.pending) > 0 {
		k, err := w.dst.Write(w.pending)
		w.pending = w.pending[k:]
		if err == nil && len(w.pending) > 0 && k == 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return err
		}
	}
	w.pending = nil
	return nil
}
