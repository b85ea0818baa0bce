//go:build arm64 && !purego

#include "textflag.h"

// ARMv8 AES: AESE adds a round key, then substitutes and shifts the rows;
// AESMC mixes the columns. A block takes AESE and AESMC with rk[0] to
// rk[rounds-2], AESE with rk[rounds-1], and an exclusive or with
// rk[rounds]. Each round key goes through the eight blocks in turn, so
// their rounds overlap. V8 holds the round key in use.

// ROUND8, LAST8 and XOR8 apply the round key K to the eight blocks in
// V0–V7: a round but the last, the last, the final exclusive or.
#define ROUND8(K) AESE K, V0.B16; AESMC V0.B16, V0.B16; AESE K, V1.B16; AESMC V1.B16, V1.B16; AESE K, V2.B16; AESMC V2.B16, V2.B16; AESE K, V3.B16; AESMC V3.B16, V3.B16; AESE K, V4.B16; AESMC V4.B16, V4.B16; AESE K, V5.B16; AESMC V5.B16, V5.B16; AESE K, V6.B16; AESMC V6.B16, V6.B16; AESE K, V7.B16; AESMC V7.B16, V7.B16
#define LAST8(K) AESE K, V0.B16; AESE K, V1.B16; AESE K, V2.B16; AESE K, V3.B16; AESE K, V4.B16; AESE K, V5.B16; AESE K, V6.B16; AESE K, V7.B16
#define XOR8(K) VEOR K, V0.B16, V0.B16; VEOR K, V1.B16, V1.B16; VEOR K, V2.B16, V2.B16; VEOR K, V3.B16, V3.B16; VEOR K, V4.B16, V4.B16; VEOR K, V5.B16, V5.B16; VEOR K, V6.B16, V6.B16; VEOR K, V7.B16, V7.B16

// AES8 encrypts the eight blocks in V0–V7 with N rounds of the round keys
// at RK; it moves RK to the last key and counts N down to 0 (a label is
// local to its function, so each function may use it once).
#define AES8(RK, N) SUB $1, N, N; aes8: VLD1.P 16(RK), [V8.B16]; ROUND8(V8.B16); SUBS $1, N; BNE aes8; VLD1.P 16(RK), [V8.B16]; LAST8(V8.B16); VLD1 (RK), [V8.B16]; XOR8(V8.B16)

// func encryptBlocks8(rounds int, rk *byte, dst, src *byte)
TEXT ·encryptBlocks8(SB), NOSPLIT, $0-32
	MOVD rounds+0(FP), R3
	MOVD rk+8(FP), R0
	MOVD dst+16(FP), R1
	MOVD src+24(FP), R2
	VLD1.P 64(R2), [V0.B16, V1.B16, V2.B16, V3.B16]
	VLD1 (R2), [V4.B16, V5.B16, V6.B16, V7.B16]
	AES8(R0, R3)
	VST1.P [V0.B16, V1.B16, V2.B16, V3.B16], 64(R1)
	VST1 [V4.B16, V5.B16, V6.B16, V7.B16], (R1)
	RET

// func encryptBlock1(rounds int, rk *byte, dst, src *byte)
TEXT ·encryptBlock1(SB), NOSPLIT, $0-32
	MOVD rounds+0(FP), R3
	MOVD rk+8(FP), R0
	MOVD dst+16(FP), R1
	MOVD src+24(FP), R2
	VLD1 (R2), [V0.B16]
	SUB $1, R3, R3
enc1:
	VLD1.P 16(R0), [V8.B16]
	AESE V8.B16, V0.B16
	AESMC V0.B16, V0.B16
	SUBS $1, R3
	BNE enc1
	VLD1.P 16(R0), [V8.B16]
	AESE V8.B16, V0.B16
	VLD1 (R0), [V8.B16]
	VEOR V8.B16, V0.B16, V0.B16
	VST1 [V0.B16], (R1)
	RET

// SEAL puts the next plaintext block of the packet at PTR into LANE
// (which held its keystream block) and moves PTR on a block.
#define SEAL(PTR, LANE) VLD1 (PTR), [V9.B16]; VEOR V9.B16, LANE, LANE; VST1.P [LANE], 16(PTR)

// func cfbEncrypt8(rounds int, rk *byte, iv *byte, ptrs *[8]*byte, blocks int)
//
// Lane i's state (V0–V7) is the ciphertext block before the one it
// encrypts next (iv at first); the packets' pointers move a block a step.
TEXT ·cfbEncrypt8(SB), NOSPLIT, $0-40
	MOVD rounds+0(FP), R2
	MOVD rk+8(FP), R0
	MOVD iv+16(FP), R1
	MOVD ptrs+24(FP), R3
	MOVD blocks+32(FP), R12
	VLD1 (R1), [V0.B16]
	VORR V0.B16, V0.B16, V1.B16
	VORR V0.B16, V0.B16, V2.B16
	VORR V0.B16, V0.B16, V3.B16
	VORR V0.B16, V0.B16, V4.B16
	VORR V0.B16, V0.B16, V5.B16
	VORR V0.B16, V0.B16, V6.B16
	VORR V0.B16, V0.B16, V7.B16
	MOVD 0(R3), R4
	MOVD 8(R3), R5
	MOVD 16(R3), R6
	MOVD 24(R3), R7
	MOVD 32(R3), R8
	MOVD 40(R3), R9
	MOVD 48(R3), R10
	MOVD 56(R3), R11
step:
	MOVD R0, R13
	MOVD R2, R14
	AES8(R13, R14)
	SEAL(R4, V0.B16)
	SEAL(R5, V1.B16)
	SEAL(R6, V2.B16)
	SEAL(R7, V3.B16)
	SEAL(R8, V4.B16)
	SEAL(R9, V5.B16)
	SEAL(R10, V6.B16)
	SEAL(R11, V7.B16)
	SUBS $1, R12
	BNE step
	RET
