// Package aescfb is kcp-go's AES packet cipher (CFB with kcp-go's fixed
// initial vector, the packet's random nonce as its first block), the same
// bytes on the wire, computed several blocks at a time.
//
// kcp-go encrypts a packet one 16-byte block per call to crypto/aes, and
// each block waits for the one before: CFB chains them, so the AES
// instruction's latency, not its throughput, sets the pace. Decryption
// does not chain (each block's keystream is the cipher of the ciphertext
// block before it, all known), so Decrypt runs eight blocks side by side;
// encryption of one packet does chain, so EncryptMany runs eight packets
// side by side, one block of each per step. On amd64 with AES-NI and on
// arm64 with the AES instructions the eight blocks go through the rounds
// together in assembly; elsewhere kcp-go's own cipher does the work.
package aescfb
