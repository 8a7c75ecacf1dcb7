// Command pipeline is a CPU-bound fan-out/fan-in pipeline: records in, N workers transform them,
// results out in input order.
//
// The shape Go users write: a producer goroutine sends (index, record) on a buffered channel,
// runtime.GOMAXPROCS(0) worker goroutines receive from it, transform each record and send
// (index, digest) on a second buffered channel, and the collector (the main goroutine) stores each
// digest at its index, which puts the results back in input order. The transform (transform.go)
// is the same hand-written algorithm as the Rust programs' (crates/pipeline-core): rounds passes
// of tokenising the record on spaces and hashing every token. The output is 12 bytes per record
// in input order (the digest as uint64 little-endian, the token count as uint32 little-endian);
// the checksum is FNV-1a 64 of it. Stdlib only.
//
// Usage: pipeline INPUT ROUNDS
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// chanBuffer is the capacity of each channel, the same as the Rust threads variant's
// CHANNEL_CAPACITY: the producer and the collector can run this far ahead of the workers without a
// rendezvous per item.
const chanBuffer = 256

// resultBytes is the output size per record: the digest and the token count.
const resultBytes = 12

type job struct {
	index  int
	record []byte
}

type result struct {
	index  int
	digest digest
}

// process spreads the records over workers goroutines and returns the digests in input order and
// the seconds spent starting the goroutines.
func process(records [][]byte, rounds, workers int) ([]digest, float64) {
	start := time.Now()
	jobs := make(chan job, chanBuffer)
	results := make(chan result, chanBuffer)
	go func() {
		for i, r := range records {
			jobs <- job{i, r}
		}
		close(jobs)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				results <- result{j.index, transform(j.record, rounds)}
			}
		})
	}
	// The result channel closes when the last worker is done, which ends the collector's loop.
	go func() {
		wg.Wait()
		close(results)
	}()
	spawn := time.Since(start).Seconds()
	digests := make([]digest, len(records))
	for r := range results {
		digests[r.index] = r.digest
	}
	return digests, spawn
}

// splitRecords splits the input on '\n', without the empty piece after a final newline.
func splitRecords(data []byte) [][]byte {
	records := bytes.Split(data, []byte{'\n'})
	if n := len(records); n > 0 && len(records[n-1]) == 0 {
		records = records[:n-1]
	}
	return records
}

// encode appends each digest's hash (uint64 LE) and token count (uint32 LE), in order.
func encode(digests []digest) []byte {
	out := make([]byte, 0, len(digests)*resultBytes)
	for _, d := range digests {
		out = binary.LittleEndian.AppendUint64(out, d.hash)
		out = binary.LittleEndian.AppendUint32(out, d.tokens)
	}
	return out
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pipeline: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pipeline INPUT ROUNDS")
		os.Exit(2)
	}
	rounds, err := strconv.ParseUint(os.Args[2], 10, 32)
	if err != nil || rounds == 0 {
		fail(2, "bad ROUNDS %q (want an integer in 1..4294967295)", os.Args[2])
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(1, "%v", err)
	}
	records := splitRecords(data)
	// The pool size the binary contract asks for (workloads/README.md, "CPUs and workers").
	workers := runtime.GOMAXPROCS(0)

	// The clock covers starting the goroutines, the transform of every record, putting the
	// results in input order, encoding them and hashing the output: the whole fan-out/fan-in.
	start := time.Now()
	digests, spawn := process(records, int(rounds), workers)
	h := fnv.New64a()
	h.Write(encode(digests))
	sum := h.Sum64()
	elapsed := time.Since(start).Seconds()

	type extra struct {
		Workers      int     `json:"workers"`
		SpawnSeconds float64 `json:"spawn_seconds"`
	}
	line, err := json.Marshal(struct {
		Checksum    string  `json:"checksum"`
		Items       int     `json:"items"`
		Bytes       int     `json:"bytes"`
		WorkSeconds float64 `json:"work_seconds"`
		Extra       extra   `json:"extra"`
	}{fmt.Sprintf("%016x", sum), len(records), len(data), elapsed, extra{workers, spawn}})
	if err != nil {
		fail(1, "%v", err)
	}
	fmt.Println(string(line))
}
