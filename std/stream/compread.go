package stream

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/golang/snappy"
)

// frameReader decodes snappy's framing format from src. Its state survives
// errors of src (timeouts), so reading can resume where it stopped; only a
// corrupt stream is a permanent error.
type frameReader struct {
	src      io.Reader
	raw      []byte // raw[rpos:wpos] holds received, not yet decoded bytes
	rpos     int
	wpos     int
	dec      []byte // dec[i:j] holds decoded bytes not yet returned
	i, j     int
	sawMagic bool
	err      error // sticky: corrupt or unsupported stream
}

// Read returns decoded bytes, reading from src until a whole chunk is there.
func (r *frameReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.i >= r.j {
		if r.err != nil {
			return 0, r.err
		}
		done, err := r.decodeChunk()
		if err != nil {
			r.err = err
			return 0, err
		}
		if !done {
			if err := r.fill(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(p, r.dec[r.i:r.j])
	r.i += n
	return n, nil
}

// fill reads once from src into raw, making room first. EOF inside a
// chunk is reported as io.ErrUnexpectedEOF.
func (r *frameReader) fill() error {
	if r.raw == nil {
		r.raw = make([]byte, chunkHeaderLen+maxChunkBody)
		r.dec = make([]byte, maxBlockLen)
	}
	if r.rpos == r.wpos {
		r.rpos, r.wpos = 0, 0
	} else if r.wpos == len(r.raw) {
		r.wpos = copy(r.raw, r.raw[r.rpos:r.wpos])
		r.rpos = 0
	}
	n, err := r.src.Read(r.raw[r.wpos:])
	r.wpos += n
	if n > 0 {
		return nil // decode what arrived; a persistent error shows up again
	}
	if err == io.EOF && r.rpos != r.wpos {
		return io.ErrUnexpectedEOF
	}
	if err == nil {
		return io.ErrNoProgress
	}
	return err
}

// decodeChunk consumes one complete chunk from raw if there is one,
// leaving any data it carries in dec. It reports false when more bytes
// are needed.
func (r *frameReader) decodeChunk() (bool, error) {
	buf := r.raw[r.rpos:r.wpos]
	if len(buf) < chunkHeaderLen {
		return false, nil
	}
	typ := buf[0]
	n := int(buf[1]) | int(buf[2])<<8 | int(buf[3])<<16
	if !r.sawMagic && typ != chunkIdentifier {
		return false, fmt.Errorf("%w: stream does not start with the stream identifier", snappy.ErrCorrupt)
	}
	if n > maxChunkBody {
		return false, fmt.Errorf("%w: chunk of %d bytes", snappy.ErrUnsupported, n)
	}
	if len(buf) < chunkHeaderLen+n {
		return false, nil
	}
	body := buf[chunkHeaderLen : chunkHeaderLen+n]
	r.rpos += chunkHeaderLen + n
	switch {
	case typ == chunkCompressed:
		return true, r.decodeCompressed(body)
	case typ == chunkUncompressed:
		return true, r.decodeUncompressed(body)
	case typ == chunkIdentifier:
		if string(body) != magicChunk[chunkHeaderLen:] {
			return false, fmt.Errorf("%w: bad stream identifier", snappy.ErrCorrupt)
		}
		r.sawMagic = true
		return true, nil
	case typ <= 0x7f:
		return false, fmt.Errorf("%w: reserved chunk type %#x", snappy.ErrUnsupported, typ)
	default: // padding and reserved skippable chunks
		return true, nil
	}
}

func (r *frameReader) decodeCompressed(body []byte) error {
	if len(body) < checksumLen {
		return fmt.Errorf("%w: short compressed chunk", snappy.ErrCorrupt)
	}
	sum := binary.LittleEndian.Uint32(body)
	n, err := snappy.DecodedLen(body[checksumLen:])
	if err != nil {
		return err
	}
	if n > len(r.dec) {
		return fmt.Errorf("%w: chunk decodes to %d bytes", snappy.ErrCorrupt, n)
	}
	if _, err := snappy.Decode(r.dec, body[checksumLen:]); err != nil {
		return err
	}
	return r.accept(n, sum)
}

func (r *frameReader) decodeUncompressed(body []byte) error {
	if len(body) < checksumLen {
		return fmt.Errorf("%w: short uncompressed chunk", snappy.ErrCorrupt)
	}
	data := body[checksumLen:]
	if len(data) > len(r.dec) {
		return fmt.Errorf("%w: uncompressed chunk of %d bytes", snappy.ErrCorrupt, len(data))
	}
	return r.accept(copy(r.dec, data), binary.LittleEndian.Uint32(body))
}

// accept makes dec[:n] readable if its checksum matches.
func (r *frameReader) accept(n int, sum uint32) error {
	if maskedCRC(r.dec[:n]) != sum {
		return fmt.Errorf("%w: checksum mismatch", snappy.ErrCorrupt)
	}
	r.i, r.j = 0, n
	return nil
}
