// Command sha256-cgo is the go+rust hybrid of the sha256 workload: the Go program of sha256 (same
// input framing, same timing, same result line) with every hash computed by the Rust sha2 crate,
// called through cgo (package rustsha256, a Rust static library with a C ABI).
//
// Every small message is one call into Rust (a one-shot digest written straight into the digest
// buffer); the large buffer goes to one Rust hasher in 64 KiB writes, one call each, as a file read
// through a buffer would. The checksum is SHA-256 (hex) of the N+1 digests concatenated in input
// order, computed after the clock stops (with crypto/sha256: the same value whoever computes it).
//
// Usage: sha256-cgo INPUT
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"gorust/workloads/internal/rustsha256"
	"gorust/workloads/sha256/framing"
)

// chunkSize is the write size for the large buffer, as in the pure Go program.
const chunkSize = 64 << 10

// hashAll returns the concatenated digests (one per small message, then the large buffer's), and
// the seconds spent on the small messages and on the large buffer.
func hashAll(small [][]byte, large []byte) (digests []byte, smallSeconds, largeSeconds float64) {
	start := time.Now()
	digests = make([]byte, (len(small)+1)*rustsha256.Size)
	for i, msg := range small {
		rustsha256.Sum(msg, (*[rustsha256.Size]byte)(digests[i*rustsha256.Size:]))
	}
	smallDone := time.Now()
	h := rustsha256.New()
	for len(large) > 0 {
		n := min(chunkSize, len(large))
		h.Write(large[:n])
		large = large[n:]
	}
	h.Sum((*[rustsha256.Size]byte)(digests[len(small)*rustsha256.Size:]))
	return digests, smallDone.Sub(start).Seconds(), time.Since(smallDone).Seconds()
}

func main() {
	if !rustsha256.Available {
		fmt.Fprintln(os.Stderr, "sha256-cgo: built without cgo (CGO_ENABLED=0): this go+rust program calls Rust through cgo")
		os.Exit(2)
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sha256-cgo INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha256-cgo:", err)
		os.Exit(1)
	}
	small, large, err := framing.Parse(input)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha256-cgo:", os.Args[1]+":", err)
		os.Exit(1)
	}
	hashed := len(large)
	for _, msg := range small {
		hashed += len(msg)
	}

	// The clock covers the hashing proper, not the checksum over the digests.
	start := time.Now()
	digests, smallSeconds, largeSeconds := hashAll(small, large)
	elapsed := time.Since(start).Seconds()
	sum := sha256.Sum256(digests)

	result, err := json.Marshal(struct {
		Checksum    string             `json:"checksum"`
		Items       int                `json:"items"`
		Bytes       int                `json:"bytes"`
		WorkSeconds float64            `json:"work_seconds"`
		Extra       map[string]float64 `json:"extra"`
	}{hex.EncodeToString(sum[:]), len(small) + 1, hashed, elapsed,
		map[string]float64{"small_seconds": smallSeconds, "large_seconds": largeSeconds}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha256-cgo:", err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}
