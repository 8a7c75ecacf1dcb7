// Package grains is the sha256-calls workload around the hash call, shared by the pure Go program
// (sha256-calls, crypto/sha256) and the go+rust hybrid (sha256-calls-cgo, Rust sha2 through cgo),
// so both run the same loop and differ only in what one call costs. The Rust-only side is
// workloads/rust/crates/sha256-calls, the same algorithm.
//
// For each grain G (bytes per call) the input buffer is cut into len/G consecutive messages of G
// bytes, each hashed with one call, and the digests are XOR-folded into 32 bytes, so every call's
// result is used and the check stays cheap. Each grain is timed on its own, by the wall clock and
// by the process's CPU time (getrusage, which other load on a shared CPU does not inflate), and
// reported in extra as g<G>_seconds, g<G>_cpu_seconds and g<G>_calls. The checksum is SHA-256 (hex) of the folds, one per grain in the
// order given, computed after the clock stops.
package grains

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sum is one hash call: the SHA-256 of msg into out.
type Sum func(msg []byte, out *[sha256.Size]byte)

// cpuSeconds is the user + system CPU time of this process so far (getrusage, microseconds).
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err) // RUSAGE_SELF cannot fail on Linux
	}
	return float64(usage.Utime.Sec+usage.Stime.Sec) + float64(usage.Utime.Usec+usage.Stime.Usec)*1e-6
}

// parse returns the grains in text: positive byte counts no larger than the input, each once.
func parse(text string, inputLen int) ([]int, error) {
	var grains []int
	seen := map[int]bool{}
	for _, part := range strings.Split(text, ",") {
		grain, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("grain %q is not a byte count", part)
		}
		if grain < 1 || grain > inputLen || seen[grain] {
			return nil, fmt.Errorf("grain %d must be in 1..%d (the input size) and given once", grain, inputLen)
		}
		seen[grain] = true
		grains = append(grains, grain)
	}
	return grains, nil
}

// Run is the whole program named name: read INPUT, parse GRAINS, time sum at every grain and print
// the contract's result line. It exits the process on any error.
func Run(name string, sum Sum) {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s INPUT GRAINS\n", name)
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	grains, err := parse(os.Args[2], len(input))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: GRAINS %q: %v\n", name, os.Args[2], err)
		os.Exit(2)
	}

	folds := make([]byte, 0, len(grains)*sha256.Size)
	extra := map[string]float64{}
	callsTotal, bytesTotal, workSeconds := 0, 0, 0.0
	for _, grain := range grains {
		calls := len(input) / grain
		var fold, digest [sha256.Size]byte
		cpuStart := cpuSeconds()
		start := time.Now()
		for i := range calls {
			sum(input[i*grain:(i+1)*grain], &digest)
			subtle.XORBytes(fold[:], fold[:], digest[:])
		}
		seconds := time.Since(start).Seconds()
		cpu := cpuSeconds() - cpuStart
		folds = append(folds, fold[:]...)
		callsTotal += calls
		bytesTotal += calls * grain
		workSeconds += seconds
		extra[fmt.Sprintf("g%d_seconds", grain)] = seconds
		extra[fmt.Sprintf("g%d_cpu_seconds", grain)] = cpu
		extra[fmt.Sprintf("g%d_calls", grain)] = float64(calls)
	}
	checksum := sha256.Sum256(folds)

	result, err := json.Marshal(struct {
		Checksum    string             `json:"checksum"`
		Items       int                `json:"items"`
		Bytes       int                `json:"bytes"`
		WorkSeconds float64            `json:"work_seconds"`
		Extra       map[string]float64 `json:"extra"`
	}{hex.EncodeToString(checksum[:]), callsTotal, bytesTotal, workSeconds, extra})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}
