//go:build amd64 && !purego

package aescfb

import "golang.org/x/sys/cpu"

// hasAsm is set where the assembly runs: amd64 with AES-NI.
var hasAsm = cpu.X86.HasAES
