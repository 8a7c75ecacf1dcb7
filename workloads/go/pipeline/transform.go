package main

// The per-record work, the same algorithm as crates/pipeline-core's transform, line for line.

const (
	fnvOffset uint64 = 0xcbf29ce484222325 // FNV-1a 64 offset basis, also the starting state
	fnvPrime  uint64 = 0x100000001b3
)

// digest is what the transform makes of one record.
type digest struct {
	hash   uint64
	tokens uint32
}

// mix is the SplitMix64 finaliser: a cheap, well-mixing bijection on uint64.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// transform makes rounds passes over the record, each splitting it into tokens (maximal runs of
// bytes other than ' ') and folding every token's bytes into a running state. Each token's FNV-1a
// hash starts from the state left by the token before it, so no pass can be hoisted out of the
// loop or skipped; the cost is proportional to the record's length.
func transform(record []byte, rounds int) digest {
	state := fnvOffset ^ uint64(len(record))
	var tokens uint32
	for round := range uint64(rounds) {
		tokens = 0
		h := state
		inToken := false
		for _, b := range record {
			if b == ' ' {
				if inToken {
					state = mix(h ^ round)
					tokens++
					inToken = false
				}
			} else {
				if !inToken {
					h = state
					inToken = true
				}
				h = (h ^ uint64(b)) * fnvPrime
			}
		}
		if inToken {
			state = mix(h ^ round)
			tokens++
		}
	}
	return digest{state, tokens}
}
