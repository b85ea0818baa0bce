// Package testnet holds what the project's tests share: a goroutine-leak
// check, deterministic payloads, and a target server that verifies every
// request byte and answers with a known reply.
package testnet
