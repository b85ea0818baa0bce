// Package stream holds the layers between a TCP (or unix) connection and
// the KCP session, as kcptun v20240729 stacks them (wire.md §1, §5–§7):
//
//   - NewCompConn: snappy framing over the whole KCP session (unless --nocomp),
//     one chunk per smux frame;
//   - SmuxConfig: the smux configuration both roles use;
//   - QPP: quantum permutation pad encryption of one smux stream's payload,
//     one fresh PRNG per stream direction;
//   - Pipe: the copy loop between a local connection and its smux stream,
//     propagating half-close.
package stream
