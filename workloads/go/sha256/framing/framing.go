// Package framing reads the sha256 workload's input (harness/generators/messages.py): u32 N, then
// N times (u32 LEN, LEN bytes), then u64 L and L bytes, all little-endian. It is shared by the pure
// Go program (sha256) and the go+rust hybrid (sha256-cgo), so both run the same code around the
// hash calls.
package framing

import (
	"encoding/binary"
	"errors"
)

// ErrFraming says the input does not follow the framing above.
var ErrFraming = errors.New("bad framing")

// Parse splits the input into the small messages and the large buffer, without copying.
func Parse(input []byte) (small [][]byte, large []byte, err error) {
	if len(input) < 4 {
		return nil, nil, ErrFraming
	}
	n := binary.LittleEndian.Uint32(input)
	rest := input[4:]
	// Each message takes at least 4 bytes, which bounds the capacity if N is corrupt.
	small = make([][]byte, 0, min(int(n), len(rest)/4))
	for range n {
		if len(rest) < 4 {
			return nil, nil, ErrFraming
		}
		size := uint64(binary.LittleEndian.Uint32(rest))
		if uint64(len(rest)-4) < size {
			return nil, nil, ErrFraming
		}
		small = append(small, rest[4:4+size])
		rest = rest[4+size:]
	}
	if len(rest) < 8 || binary.LittleEndian.Uint64(rest) != uint64(len(rest)-8) {
		return nil, nil, ErrFraming
	}
	return small, rest[8:], nil
}
