// Command many-tasks spawns one goroutine per task, each holding a little live state across a
// timer wait, and joins them all.
//
// Task i writes stateWords 64-bit words derived from i (splitmix64 of i*stateWords+j), counts
// itself in as alive, waits for the release (a channel the last task to arrive closes), sleeps
// WAIT_MS with time.Sleep, counts itself out and folds its words into one result (FNV-1a over the
// words). No task can leave before the last one has arrived, so all N tasks, with their state,
// are alive at once by construction; the program also checks it: the high-water mark of the live
// counter (max_live) must be N, or it fails.
//
// The checksum is FNV-1a 64 over the N results (8 bytes each, little-endian, in task order)
// followed by max_live (8 bytes), identical to the Rust programs' (workloads/docs/many-tasks.md).
//
// Usage: many-tasks TASKS WAIT_MS
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// stateWords is the live state of one task: 16 words, 128 bytes.
const stateWords = 16

// maxTasks bounds TASKS so that a typo cannot ask for more memory than any machine has.
const maxTasks = 10_000_000

// counters are shared by every task.
type counters struct {
	tasks   int64         // N
	wait    time.Duration // one timer wait
	start   time.Time     // the spawn loop's start
	release chan struct{} // closed by the task that brings live to N; every task waits for it
	live    atomic.Int64  // tasks that have arrived and not yet left
	maxLive atomic.Int64  // high-water mark of live
	aliveAt atomic.Int64  // nanoseconds from start until live reached N
}

// splitmix64 is the finalizer of the SplitMix64 generator: a cheap, well-mixed function of x.
func splitmix64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newCounters returns the counters for n tasks that each wait for wait.
func newCounters(n int, wait time.Duration) *counters {
	return &counters{tasks: int64(n), wait: wait, release: make(chan struct{})}
}

// checksum checks that all tasks were alive at once and returns FNV-1a 64 over the results (task
// order) and the live counter's high-water mark.
func (c *counters) checksum(results []uint64) (uint64, error) {
	maxLive := c.maxLive.Load()
	if maxLive != c.tasks {
		return 0, fmt.Errorf("only %d of %d tasks were alive at once", maxLive, c.tasks)
	}
	h := fnv.New64a()
	var word [8]byte
	for _, r := range append(results, uint64(maxLive)) {
		binary.LittleEndian.PutUint64(word[:], r)
		h.Write(word[:])
	}
	return h.Sum64(), nil
}

// arrive counts a task in and keeps the high-water mark.
func (c *counters) arrive() {
	live := c.live.Add(1)
	for {
		seen := c.maxLive.Load()
		if live <= seen || c.maxLive.CompareAndSwap(seen, live) {
			break
		}
	}
	if live == c.tasks {
		c.aliveAt.Store(int64(time.Since(c.start)))
		close(c.release)
	}
}

// stateOf returns task i's live state: word j is splitmix64(i*stateWords + j).
func stateOf(i int) [stateWords]uint64 {
	var state [stateWords]uint64
	for j := range state {
		state[j] = splitmix64(uint64(i)*stateWords + uint64(j))
	}
	return state
}

// fold is a task's result, from its state after the wait: FNV-1a over the words.
func fold(state [stateWords]uint64) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, w := range state {
		h = (h ^ w) * 0x100000001b3
	}
	return h
}

// task is the body of goroutine i: state written before the wait, folded after it.
func task(i int, c *counters) uint64 {
	state := stateOf(i)
	c.arrive()
	<-c.release
	time.Sleep(c.wait)
	c.live.Add(-1)
	return fold(state)
}

func parseArg(name, arg string, lo, hi int) int {
	n, err := strconv.Atoi(arg)
	if err != nil || n < lo || n > hi {
		fmt.Fprintf(os.Stderr, "many-tasks: bad %s %q (want an integer in %d..%d)\n", name, arg, lo, hi)
		os.Exit(2)
	}
	return n
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: many-tasks TASKS WAIT_MS")
		os.Exit(2)
	}
	n := parseArg("TASKS", os.Args[1], 1, maxTasks)
	waitMs := parseArg("WAIT_MS", os.Args[2], 1, 60_000)

	c := newCounters(n, time.Duration(waitMs)*time.Millisecond)
	results := make([]uint64, n)
	var wg sync.WaitGroup
	c.start = time.Now()
	for i := range n {
		wg.Go(func() { results[i] = task(i, c) })
	}
	spawned := time.Since(c.start)
	wg.Wait()
	elapsed := time.Since(c.start)

	sum, err := c.checksum(results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "many-tasks:", err)
		os.Exit(1)
	}

	result, err := json.Marshal(struct {
		Checksum    string             `json:"checksum"`
		Items       int                `json:"items"`
		Bytes       int                `json:"bytes"`
		WorkSeconds float64            `json:"work_seconds"`
		Extra       map[string]float64 `json:"extra"`
	}{fmt.Sprintf("%016x", sum), n, 0, elapsed.Seconds(), map[string]float64{
		"workers":       float64(runtime.GOMAXPROCS(0)),
		"spawn_seconds": spawned.Seconds(),
		"alive_seconds": time.Duration(c.aliveAt.Load()).Seconds(),
		"join_seconds":  (elapsed - spawned).Seconds(),
		"max_live":      float64(c.maxLive.Load()),
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "many-tasks:", err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}
