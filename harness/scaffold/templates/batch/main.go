// Command __NAME__ is a workload pair made by `harness new`: it counts the words of every input
// line, a placeholder for your own code. Replace work() and keep main(): main reads the input,
// times the work alone and prints the one result line the harness reads.
//
// Usage: __NAME__ INPUT
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"time"
)

// work is the code being measured: paste yours here. It returns the output, whose FNV-1a 64 is
// the checksum (the Rust side must produce the same bytes), and the number of items processed.
func work(input []byte) (output []byte, items int) {
	for line := range bytes.Lines(input) {
		output = strconv.AppendInt(output, int64(len(bytes.FieldsFunc(line, isSpace))), 10)
		output = append(output, '\n')
		items++
	}
	return output, items
}

// isSpace is Rust's u8::is_ascii_whitespace, so both sides split words alike on any input.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r'
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: __NAME__ INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "__NAME__:", err)
		os.Exit(1)
	}

	// The clock covers the work proper: not reading the input, not the checksum.
	start := time.Now()
	output, items := work(input)
	elapsed := time.Since(start).Seconds()

	checksum := fnv.New64a()
	checksum.Write(output)
	result, err := json.Marshal(struct {
		Checksum    string  `json:"checksum"`
		Items       int     `json:"items"`
		Bytes       int     `json:"bytes"`
		WorkSeconds float64 `json:"work_seconds"`
	}{fmt.Sprintf("%016x", checksum.Sum64()), items, len(input), elapsed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "__NAME__:", err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}
