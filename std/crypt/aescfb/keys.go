package aescfb

// sbox is AES's substitution box, built from its definition: the
// multiplicative inverse in GF(2^8) (0 for 0) under the affine map
// b ^ rotl(b,1) ^ rotl(b,2) ^ rotl(b,3) ^ rotl(b,4) ^ 0x63. p walks the
// field's non-zero elements by multiplying by 3 (a generator) and q
// walks their inverses by dividing by 3.
var sbox = func() (s [256]byte) {
	rotl := func(b byte, n uint) byte { return b<<n | b>>(8-n) }
	p, q := byte(1), byte(1)
	for {
		p ^= xtime(p)
		q ^= q << 1
		q ^= q << 2
		q ^= q << 4
		if q&0x80 != 0 {
			q ^= 0x09
		}
		s[p] = q ^ rotl(q, 1) ^ rotl(q, 2) ^ rotl(q, 3) ^ rotl(q, 4) ^ 0x63
		if p == 1 {
			break
		}
	}
	s[0] = 0x63
	return s
}()

// xtime multiplies b by x (2) in GF(2^8) modulo AES's polynomial.
func xtime(b byte) byte {
	return b<<1 ^ (b>>7)*0x1b
}

// maxRoundKeys is the size of AES-256's schedule: 15 round keys.
const maxRoundKeys = 15 * 16

// expandKey returns AES's key schedule for a 16-, 24- or 32-byte key
// (FIPS-197 section 5.2) as round keys of 16 bytes each, in the byte
// order AES-NI takes them, and the number of rounds (10, 12 or 14).
func expandKey(key []byte) (rk [maxRoundKeys]byte, rounds int) {
	nk := len(key) / 4
	rounds = nk + 6
	words := 4 * (rounds + 1)
	w := rk[:4*words]
	copy(w, key)
	rcon := byte(1)
	for i := nk; i < words; i++ {
		t := [4]byte(w[4*(i-1) : 4*i])
		switch {
		case i%nk == 0: // RotWord, SubWord, Rcon
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = xtime(rcon)
		case nk > 6 && i%nk == 4: // SubWord, AES-256 only
			t = [4]byte{sbox[t[0]], sbox[t[1]], sbox[t[2]], sbox[t[3]]}
		}
		for k := range 4 {
			w[4*i+k] = w[4*(i-nk)+k] ^ t[k]
		}
	}
	return rk, rounds
}
