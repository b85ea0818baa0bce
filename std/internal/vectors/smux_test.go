package vectors

import (
	"encoding/binary"
	"fmt"
)

// smux commands.
const (
	smuxSYN = iota
	smuxFIN
	smuxPSH
	smuxNOP
	smuxUPD
)

var smuxCmdNames = []string{"SYN", "FIN", "PSH", "NOP", "UPD"}

// smuxStream is what one stream id carried in one direction.
type smuxStream struct {
	sid      uint32
	syn, fin bool
	payload  []byte
}

// smuxLayer is a parsed smux byte stream.
type smuxLayer struct {
	frames  []string      // README's smux_frames_in_order notation
	streams []*smuxStream // in order of first appearance; NOPs belong to none
}

// parseSmux splits b into frames of version ver and groups them by stream
// id. Unknown commands or versions, data after FIN and trailing bytes are
// errors.
func parseSmux(b []byte, ver int) (*smuxLayer, error) {
	l := &smuxLayer{}
	byID := map[uint32]*smuxStream{}
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("%d bytes left after the last smux frame", len(b))
		}
		v, cmd := b[0], b[1]
		n := int(binary.LittleEndian.Uint16(b[2:]))
		sid := binary.LittleEndian.Uint32(b[4:])
		if int(v) != ver {
			return nil, fmt.Errorf("smux frame version %d, want %d", v, ver)
		}
		if int(cmd) >= len(smuxCmdNames) || (cmd == smuxUPD && ver < 2) {
			return nil, fmt.Errorf("smux command %d in version %d", cmd, ver)
		}
		if len(b) < 8+n {
			return nil, fmt.Errorf("smux frame of %d bytes truncated", n)
		}
		data := b[8 : 8+n]
		b = b[8+n:]
		desc := fmt.Sprintf("%s sid=%d len=%d", smuxCmdNames[cmd], sid, n)
		if cmd == smuxUPD && n == 8 {
			desc += fmt.Sprintf(" consumed=%d window=%d", binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:]))
		}
		l.frames = append(l.frames, desc)
		if cmd == smuxNOP {
			continue
		}
		s := byID[sid]
		if s == nil {
			s = &smuxStream{sid: sid}
			byID[sid] = s
			l.streams = append(l.streams, s)
		}
		if s.fin {
			return nil, fmt.Errorf("sid %d: %s after FIN", sid, smuxCmdNames[cmd])
		}
		switch cmd {
		case smuxSYN:
			if s.syn || len(s.payload) > 0 {
				return nil, fmt.Errorf("sid %d: SYN not first", sid)
			}
			s.syn = true
		case smuxFIN:
			s.fin = true
		case smuxPSH:
			s.payload = append(s.payload, data...)
		}
	}
	return l, nil
}
