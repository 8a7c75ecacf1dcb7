// Command ring is the ring workload's Go default: a token passed round a ring of K goroutines M
// times over unbuffered channels.
//
// Goroutine i receives the token from channel i, folds its index into it and sends it on channel
// (i+1) mod K. Every channel is `make(chan uint64)`: unbuffered, so each send is a rendezvous with
// the receiving goroutine. The main goroutine injects the token into channel 0 and takes it back
// from a separate unbuffered channel after the K*M-th hop (the last goroutine's last send). The
// token is an FNV-1a 64 state and each hop folds in one "byte", the goroutine's index, so the final
// value depends on every hop and its order; it is the checksum.
//
// Usage: ring TASKS LAPS
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

const (
	fnvOffset = 0xcbf29ce484222325
	fnvPrime  = 0x100000001b3
)

// member is ring member i: it forwards the token laps times, the last time on last.
func member(i uint64, laps int, in <-chan uint64, out, last chan<- uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	for lap := 1; lap < laps; lap++ {
		out <- (<-in ^ i) * fnvPrime
	}
	last <- (<-in ^ i) * fnvPrime
}

// parse reads a command-line count in lo..hi.
func parse(name, arg string, lo, hi int) int {
	n, err := strconv.Atoi(arg)
	if err != nil || n < lo || n > hi {
		fmt.Fprintf(os.Stderr, "ring: bad %s %q (want an integer in %d..%d)\n", name, arg, lo, hi)
		os.Exit(2)
	}
	return n
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ring TASKS LAPS")
		os.Exit(2)
	}
	// At least 2 tasks: a member of a ring of 1 would send to itself, which an unbuffered channel
	// never completes.
	tasks := parse("TASKS", os.Args[1], 2, 1_000_000)
	laps := parse("LAPS", os.Args[2], 1, 1_000_000_000)

	ring := make([]chan uint64, tasks)
	for i := range ring {
		ring[i] = make(chan uint64)
	}
	done := make(chan uint64)
	var wg sync.WaitGroup
	wg.Add(tasks)
	for i := 0; i < tasks; i++ {
		out := ring[(i+1)%tasks]
		last := out
		if i == tasks-1 {
			last = done
		}
		go member(uint64(i), laps, ring[i], out, last, &wg)
	}

	// The clock covers the hops only: from the injection to the token's return.
	start := time.Now()
	ring[0] <- fnvOffset
	token := <-done
	elapsed := time.Since(start).Seconds()
	wg.Wait()

	hops := int64(tasks) * int64(laps)
	result, err := json.Marshal(struct {
		Checksum    string           `json:"checksum"`
		Items       int64            `json:"items"`
		Bytes       int64            `json:"bytes"`
		WorkSeconds float64          `json:"work_seconds"`
		Extra       map[string]int64 `json:"extra"`
	}{
		fmt.Sprintf("%016x", token), hops, 0, elapsed,
		map[string]int64{"workers": int64(runtime.GOMAXPROCS(0)), "hops": hops},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ring:", err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}
