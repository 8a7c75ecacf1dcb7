// Command binarytrees is the Benchmarks Game binary-trees workload, single-threaded.
//
// It allocates a "stretch" tree of depth max+1, a long-lived tree of depth max, and then for each
// depth d in 4, 6, ..., max it builds and walks 2^(max-d+4) short-lived trees. Nodes are plain
// structs with pointer children, allocated with new(); the garbage collector reclaims them. There is
// deliberately no sync.Pool, arena or free list: the point is to measure the default allocator + GC.
//
// Usage: binarytrees MAX_DEPTH
package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"
)

const minDepth = 4

// Node is a tree node; a leaf has both children nil.
type Node struct {
	left, right *Node
}

// bottomUp builds a perfect binary tree of the given depth.
func bottomUp(depth int) *Node {
	if depth <= 0 {
		return &Node{}
	}
	return &Node{left: bottomUp(depth - 1), right: bottomUp(depth - 1)}
}

// check walks the tree and returns its node count.
func (n *Node) check() int {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

// run performs the whole benchmark, writing the classic text to out, and returns the number of
// trees allocated.
func run(maxDepth int, out *strings.Builder) int64 {
	if maxDepth < minDepth+2 {
		maxDepth = minDepth + 2
	}
	var trees int64

	stretchDepth := maxDepth + 1
	fmt.Fprintf(out, "stretch tree of depth %d\t check: %d\n", stretchDepth, bottomUp(stretchDepth).check())
	trees++

	longLived := bottomUp(maxDepth)
	trees++

	for d := minDepth; d <= maxDepth; d += 2 {
		iterations := 1 << (maxDepth - d + minDepth)
		check := 0
		for i := 0; i < iterations; i++ {
			check += bottomUp(d).check()
		}
		trees += int64(iterations)
		fmt.Fprintf(out, "%d\t trees of depth %d\t check: %d\n", iterations, d, check)
	}

	fmt.Fprintf(out, "long lived tree of depth %d\t check: %d\n", maxDepth, longLived.check())
	return trees
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: binarytrees MAX_DEPTH")
		os.Exit(2)
	}
	maxDepth, err := strconv.Atoi(os.Args[1])
	if err != nil || maxDepth < 0 || maxDepth > 30 {
		fmt.Fprintf(os.Stderr, "binarytrees: bad MAX_DEPTH %q (want an integer in 0..30)\n", os.Args[1])
		os.Exit(2)
	}

	var out strings.Builder
	start := time.Now()
	trees := run(maxDepth, &out)
	h := fnv.New64a()
	h.Write([]byte(out.String()))
	sum := h.Sum64()
	elapsed := time.Since(start).Seconds()

	result, err := json.Marshal(struct {
		Checksum    string  `json:"checksum"`
		Items       int64   `json:"items"`
		Bytes       int64   `json:"bytes"`
		WorkSeconds float64 `json:"work_seconds"`
	}{fmt.Sprintf("%016x", sum), trees, 0, elapsed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "binarytrees:", err)
		os.Exit(1)
	}
	// The classic text first, then the contract's JSON object as the last line.
	fmt.Print(out.String())
	fmt.Println(string(result))
}
