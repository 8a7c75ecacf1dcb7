// Command sha256 hashes many small messages one by one and one large buffer as a stream, with
// crypto/sha256.
//
// The input (harness/generators/messages.py, read by the framing package) is: u32 N, then N times
// (u32 LEN, LEN bytes), then u64 L and L bytes, all little-endian. Every small message gets its own
// one-shot sha256.Sum256; the large buffer goes through one sha256.New() hash in 64 KiB writes, as a
// file read through a buffer would. The checksum is SHA-256 (hex) of the N+1 digests concatenated
// in input order.
//
// Usage: sha256 INPUT
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"gorust/workloads/sha256/framing"
)

// chunkSize is the write size for the large buffer.
const chunkSize = 64 << 10

// hashAll returns the concatenated digests (one per small message, then the large buffer's), and
// the seconds spent on the small messages and on the large buffer.
func hashAll(small [][]byte, large []byte) (digests []byte, smallSeconds, largeSeconds float64) {
	start := time.Now()
	digests = make([]byte, 0, (len(small)+1)*sha256.Size)
	for _, msg := range small {
		sum := sha256.Sum256(msg)
		digests = append(digests, sum[:]...)
	}
	smallDone := time.Now()
	h := sha256.New()
	for len(large) > 0 {
		n := min(chunkSize, len(large))
		h.Write(large[:n])
		large = large[n:]
	}
	digests = h.Sum(digests)
	return digests, smallDone.Sub(start).Seconds(), time.Since(smallDone).Seconds()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sha256 INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha256:", err)
		os.Exit(1)
	}
	small, large, err := framing.Parse(input)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha256:", os.Args[1]+":", err)
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

	// extra splits the time: per-call overhead dominates the small messages, the block function
	// the large buffer.
	result, err := json.Marshal(struct {
		Checksum    string             `json:"checksum"`
		Items       int                `json:"items"`
		Bytes       int                `json:"bytes"`
		WorkSeconds float64            `json:"work_seconds"`
		Extra       map[string]float64 `json:"extra"`
	}{hex.EncodeToString(sum[:]), len(small) + 1, hashed, elapsed,
		map[string]float64{"small_seconds": smallSeconds, "large_seconds": largeSeconds}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sha256:", err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}
