// Command json-cgo is the go+rust hybrid of the json workload: a Go program that hands the whole
// input to the Rust implementation (serde_json decode into the typed corpus, then re-encode)
// through cgo in one call, and reads the encoded output straight from Rust's memory for the
// FNV-1a 64 checksum. The clock covers the call, as the pure programs' clocks cover decode and
// encode; the corpus is dropped afterwards, outside it, as in the pure Rust program.
//
// Usage: json-cgo INPUT
package main

import (
	"fmt"
	"os"
	"time"

	"gorust/workloads/internal/rustjson"
	"gorust/workloads/json/model"
)

func main() {
	if !rustjson.Available {
		fmt.Fprintln(os.Stderr, "json-cgo: built without cgo (CGO_ENABLED=0): this go+rust program calls Rust through cgo")
		os.Exit(2)
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: json-cgo INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	start := time.Now()
	result, err := rustjson.Roundtrip(input)
	if err != nil {
		fmt.Fprintln(os.Stderr, "json-cgo:", os.Args[1]+":", err)
		os.Exit(1)
	}
	elapsed := time.Since(start).Seconds()

	model.Report(result.Output(), result.Items(), len(input), elapsed)
	result.Free()
}
