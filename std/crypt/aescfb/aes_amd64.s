//go:build amd64 && !purego

#include "textflag.h"

// AES-NI: each round key goes through the eight blocks in turn, so the
// eight rounds overlap (a round's latency is several cycles, its
// throughput one or two a cycle). Round keys are 16 bytes each, rk[0]
// first; X8 holds the one in use.

// func encryptBlocks8(rounds int, rk *byte, dst, src *byte)
TEXT ·encryptBlocks8(SB), NOSPLIT, $0-32
	MOVQ rounds+0(FP), CX
	MOVQ rk+8(FP), AX
	MOVQ dst+16(FP), DX
	MOVQ src+24(FP), BX
	MOVUPS 0(BX), X0
	MOVUPS 16(BX), X1
	MOVUPS 32(BX), X2
	MOVUPS 48(BX), X3
	MOVUPS 64(BX), X4
	MOVUPS 80(BX), X5
	MOVUPS 96(BX), X6
	MOVUPS 112(BX), X7
	MOVUPS (AX), X8
	PXOR X8, X0
	PXOR X8, X1
	PXOR X8, X2
	PXOR X8, X3
	PXOR X8, X4
	PXOR X8, X5
	PXOR X8, X6
	PXOR X8, X7
	ADDQ $16, AX
	DECQ CX
enc8:
	MOVUPS (AX), X8
	AESENC X8, X0
	AESENC X8, X1
	AESENC X8, X2
	AESENC X8, X3
	AESENC X8, X4
	AESENC X8, X5
	AESENC X8, X6
	AESENC X8, X7
	ADDQ $16, AX
	DECQ CX
	JNZ enc8
	MOVUPS (AX), X8
	AESENCLAST X8, X0
	AESENCLAST X8, X1
	AESENCLAST X8, X2
	AESENCLAST X8, X3
	AESENCLAST X8, X4
	AESENCLAST X8, X5
	AESENCLAST X8, X6
	AESENCLAST X8, X7
	MOVUPS X0, 0(DX)
	MOVUPS X1, 16(DX)
	MOVUPS X2, 32(DX)
	MOVUPS X3, 48(DX)
	MOVUPS X4, 64(DX)
	MOVUPS X5, 80(DX)
	MOVUPS X6, 96(DX)
	MOVUPS X7, 112(DX)
	RET

// func encryptBlock1(rounds int, rk *byte, dst, src *byte)
TEXT ·encryptBlock1(SB), NOSPLIT, $0-32
	MOVQ rounds+0(FP), CX
	MOVQ rk+8(FP), AX
	MOVQ dst+16(FP), DX
	MOVQ src+24(FP), BX
	MOVUPS (BX), X0
	MOVUPS (AX), X8
	PXOR X8, X0
	ADDQ $16, AX
	DECQ CX
enc1:
	MOVUPS (AX), X8
	AESENC X8, X0
	ADDQ $16, AX
	DECQ CX
	JNZ enc1
	MOVUPS (AX), X8
	AESENCLAST X8, X0
	MOVUPS X0, (DX)
	RET

// func cfbEncrypt8(rounds int, rk *byte, iv *byte, ptrs *[8]*byte, blocks int)
//
// Lane i's state (X0–X7) is the ciphertext block before the one it
// encrypts next (iv at first); the packets' pointers move a block a step.
TEXT ·cfbEncrypt8(SB), NOSPLIT, $0-40
	MOVQ rounds+0(FP), R9
	MOVQ rk+8(FP), AX
	MOVQ iv+16(FP), CX
	MOVQ blocks+32(FP), R10
	MOVUPS (CX), X0
	MOVOU X0, X1
	MOVOU X0, X2
	MOVOU X0, X3
	MOVOU X0, X4
	MOVOU X0, X5
	MOVOU X0, X6
	MOVOU X0, X7
	MOVQ ptrs+24(FP), BX
	MOVQ 0(BX), SI
	MOVQ 8(BX), DI
	MOVQ 16(BX), R8
	MOVQ 24(BX), R11
	MOVQ 32(BX), R12
	MOVQ 40(BX), R13
	MOVQ 48(BX), R14
	MOVQ 56(BX), BX
step:
	MOVQ AX, CX
	MOVUPS (CX), X8
	PXOR X8, X0
	PXOR X8, X1
	PXOR X8, X2
	PXOR X8, X3
	PXOR X8, X4
	PXOR X8, X5
	PXOR X8, X6
	PXOR X8, X7
	ADDQ $16, CX
	MOVQ R9, DX
	DECQ DX
round:
	MOVUPS (CX), X8
	AESENC X8, X0
	AESENC X8, X1
	AESENC X8, X2
	AESENC X8, X3
	AESENC X8, X4
	AESENC X8, X5
	AESENC X8, X6
	AESENC X8, X7
	ADDQ $16, CX
	DECQ DX
	JNZ round
	MOVUPS (CX), X8
	AESENCLAST X8, X0
	AESENCLAST X8, X1
	AESENCLAST X8, X2
	AESENCLAST X8, X3
	AESENCLAST X8, X4
	AESENCLAST X8, X5
	AESENCLAST X8, X6
	AESENCLAST X8, X7
	MOVUPS (SI), X8
	PXOR X8, X0
	MOVUPS X0, (SI)
	ADDQ $16, SI
	MOVUPS (DI), X8
	PXOR X8, X1
	MOVUPS X1, (DI)
	ADDQ $16, DI
	MOVUPS (R8), X8
	PXOR X8, X2
	MOVUPS X2, (R8)
	ADDQ $16, R8
	MOVUPS (R11), X8
	PXOR X8, X3
	MOVUPS X3, (R11)
	ADDQ $16, R11
	MOVUPS (R12), X8
	PXOR X8, X4
	MOVUPS X4, (R12)
	ADDQ $16, R12
	MOVUPS (R13), X8
	PXOR X8, X5
	MOVUPS X5, (R13)
	ADDQ $16, R13
	MOVUPS (R14), X8
	PXOR X8, X6
	MOVUPS X6, (R14)
	ADDQ $16, R14
	MOVUPS (BX), X8
	PXOR X8, X7
	MOVUPS X7, (BX)
	ADDQ $16, BX
	DECQ R10
	JNZ step
	RET
