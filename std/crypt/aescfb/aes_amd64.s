//go:build amd64 && !purego

#include "textflag.h"

// AES-NI: each round key goes through the eight blocks in turn, so the
// eight rounds overlap (a round's latency is several cycles, its
// throughput one or two a cycle). Round keys are 16 bytes each, rk[0]
// first; X8 holds the one in use.

// XOR8, ENC8 and ENCLAST8 apply the round key K to the eight blocks in
// X0–X7: its exclusive or, a middle round, the last round.
#define XOR8(K) PXOR K, X0; PXOR K, X1; PXOR K, X2; PXOR K, X3; PXOR K, X4; PXOR K, X5; PXOR K, X6; PXOR K, X7
#define ENC8(K) AESENC K, X0; AESENC K, X1; AESENC K, X2; AESENC K, X3; AESENC K, X4; AESENC K, X5; AESENC K, X6; AESENC K, X7
#define ENCLAST8(K) AESENCLAST K, X0; AESENCLAST K, X1; AESENCLAST K, X2; AESENCLAST K, X3; AESENCLAST K, X4; AESENCLAST K, X5; AESENCLAST K, X6; AESENCLAST K, X7

// AES8 encrypts the eight blocks in X0–X7 with N rounds of the round keys
// at RK; it moves RK to the last key and counts N down to 0 (a label is
// local to its function, so each function may use it once).
#define AES8(RK, N) MOVUPS (RK), X8; XOR8(X8); ADDQ $16, RK; DECQ N; aes8: MOVUPS (RK), X8; ENC8(X8); ADDQ $16, RK; DECQ N; JNZ aes8; MOVUPS (RK), X8; ENCLAST8(X8)

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
	AES8(AX, CX)
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

// SEAL puts the next plaintext block of the packet at PTR into LANE
// (which held its keystream block) and moves PTR on a block.
#define SEAL(PTR, LANE) MOVUPS (PTR), X8; PXOR X8, LANE; MOVUPS LANE, (PTR); ADDQ $16, PTR

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
	MOVQ R9, DX
	AES8(CX, DX)
	SEAL(SI, X0)
	SEAL(DI, X1)
	SEAL(R8, X2)
	SEAL(R11, X3)
	SEAL(R12, X4)
	SEAL(R13, X5)
	SEAL(R14, X6)
	SEAL(BX, X7)
	DECQ R10
	JNZ step
	RET
