package main

import (
	"testing"
	"time"
)

// released reports whether the release channel is closed, without waiting.
func released(c *counters) bool {
	select {
	case <-c.release:
		return true
	default:
		return false
	}
}

// The program refuses a run in which not every task was alive at once (workloads/docs/many-tasks.md):
// the high-water mark, not the number of arrivals, decides, and only the N-th live task opens the
// release.
func TestOnlyAllTasksAliveAtOncePassTheCheck(t *testing.T) {
	c := newCounters(2, time.Millisecond)
	c.arrive()
	c.live.Add(-1) // the first task leaves before the second arrives
	c.arrive()
	if released(c) {
		t.Fatal("the release opened with 1 of 2 tasks alive")
	}
	if _, err := c.checksum([]uint64{1, 2}); err == nil || err.Error() != "only 1 of 2 tasks were alive at once" {
		t.Fatalf("check passed or said the wrong thing: %v", err)
	}
	c.arrive()
	if !released(c) {
		t.Fatal("the release stayed closed with 2 of 2 tasks alive")
	}
	if _, err := c.checksum([]uint64{1, 2}); err != nil {
		t.Fatal(err)
	}
}

// The state and fold are the Rust programs' (many-tasks-core): splitmix64(0) is SplitMix64's
// published first output, and the checksum of task 0 alone is pinned here and in the Rust test.
func TestStateFoldAndChecksumMatchTheRustPrograms(t *testing.T) {
	if got := splitmix64(0); got != 0xe220a8397b1dcdaf {
		t.Fatalf("splitmix64(0) = %#x", got)
	}
	c := newCounters(1, time.Millisecond)
	c.arrive()
	sum, err := c.checksum([]uint64{fold(stateOf(0))})
	if err != nil {
		t.Fatal(err)
	}
	if sum != oneTaskChecksum {
		t.Fatalf("checksum of one task = %016x, want %016x", sum, oneTaskChecksum)
	}
}

// oneTaskChecksum is `many-tasks 1 1`'s checksum, the same on every side.
const oneTaskChecksum = 0x1e3eec4aeaf2e065
