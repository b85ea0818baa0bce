package netem

import "fmt"

// DirStats counts what happened to the packets of one direction.
type DirStats struct {
	In         uint64 // packets offered to the link
	BytesIn    uint64 // bytes offered
	LossDrops  uint64 // lost to random or burst loss
	QueueDrops uint64 // dropped because the queue was full (drop-tail)
	Duplicated uint64 // extra copies made
	Reordered  uint64 // packets held back so later ones overtake them
	Delivered  uint64 // packets handed to the receiver (copies included)
	BytesOut   uint64 // bytes handed to the receiver
	RecvDrops  uint64 // delivered but dropped by a full receive queue, a closed reader or a failed write
	Lateness   Lateness
}

// Stats holds both directions of an adapter. For a Conn, Up is what it
// sends and Down what it receives; for a Relay, Up is client → server and
// Down server → client.
type Stats struct {
	Up, Down DirStats
}

// String is a one-line summary for logs and bench output.
func (s DirStats) String() string {
	return fmt.Sprintf("in=%d (%d B) loss=%d queue=%d dup=%d reorder=%d delivered=%d (%d B) recvdrop=%d late(mean=%v p50=%v p99=%v max=%v)",
		s.In, s.BytesIn, s.LossDrops, s.QueueDrops, s.Duplicated, s.Reordered, s.Delivered, s.BytesOut, s.RecvDrops,
		s.Lateness.Mean, s.Lateness.P50, s.Lateness.P99, s.Lateness.Max)
}
