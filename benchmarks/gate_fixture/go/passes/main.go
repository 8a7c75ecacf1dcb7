// Command passes is the regression-gate benchmark's own workload (benchmarks/test_gate.py).
//
// It fills a buffer of SIZE bytes from a xorshift generator, then hashes it with 64-bit FNV-1a
// `passes` times, checking every pass against the first. The work is proportional to `passes`, so
// a commit that changes the constant from 100 to 110 adds 10 % to the hashing and nothing else: a
// real source change of known size for `harness ab` to find. The output does not depend on it.
//
// Usage: passes SIZE
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

const passes = 100

func fnv1a(buf []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, b := range buf {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: passes SIZE")
		os.Exit(2)
	}
	size, err := strconv.Atoi(os.Args[1])
	if err != nil || size < 1 {
		fmt.Fprintf(os.Stderr, "passes: bad SIZE %q\n", os.Args[1])
		os.Exit(2)
	}
	start := time.Now()
	buf := make([]byte, size)
	x := uint64(88172645463325252)
	for i := range buf {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
	first := fnv1a(buf)
	for i := 1; i < passes; i++ {
		if fnv1a(buf) != first {
			fmt.Fprintln(os.Stderr, "passes: a pass disagreed with the first")
			os.Exit(1)
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("{\"checksum\":\"%016x\",\"items\":%d,\"bytes\":%d,\"work_seconds\":%g}\n",
		first, passes, passes*size, elapsed)
}
