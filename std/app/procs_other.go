//go:build !unix

package app

import "time"

// processCPU returns nil: the process's CPU time is not read here, and
// the runtime keeps its Ps.
func processCPU() func() time.Duration { return nil }
