// Package crypt maps kcptun's --crypt names to kcp-go packet ciphers and
// derives the cipher key from --key exactly as kcptun v20240729 does
// (PBKDF2-HMAC-SHA1, salt "kcp-go", 4096 iterations, 32 bytes).
package crypt
