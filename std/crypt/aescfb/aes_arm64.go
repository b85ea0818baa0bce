//go:build arm64 && !purego

package aescfb

import "golang.org/x/sys/cpu"

// hasAsm is set where the assembly runs: arm64 with the AES
// instructions (ARMv8's cryptographic extension; a Raspberry Pi 4 has
// none, most routers' Cortex-A53 and later cores do).
var hasAsm = cpu.ARM64.HasAES
