// Command json-front-cgo is the go+rust front of the json-service hybrid
// (workloads/docs/json-service.md): the HTTP server of json-front (net/http), whose POST
// /roundtrip hands the body to the json workload's Rust implementation through cgo in one call
// (internal/rustjson over crates/json-ffi, as json-cgo does) and checksums the re-encoding in Go,
// straight from Rust's memory. HARNESS_BACKEND is not read: the work is always in-process.
//
// Usage: json-front-cgo [--port P]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"gorust/workloads/internal/jsonfront"
	"gorust/workloads/internal/rustjson"
	"gorust/workloads/internal/serve"
	"gorust/workloads/json/model"
)

// roundtrip is the Roundtrip in Rust: serde_json decode + re-encode behind one cgo call.
func roundtrip(_ context.Context, corpus []byte) ([]byte, error) {
	result, err := rustjson.Roundtrip(corpus)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", jsonfront.ErrMalformed, err)
	}
	defer result.Free()
	out := result.Output()
	return jsonfront.AppendSummary(nil, uint64(result.Items()), uint64(len(out)), model.Checksum(out)), nil
}

func main() {
	if !rustjson.Available {
		fmt.Fprintln(os.Stderr, "json-front-cgo: built without cgo (CGO_ENABLED=0): this go+rust program calls Rust through cgo")
		os.Exit(2)
	}
	port := flag.Int("port", 8080, "TCP port to listen on, at 127.0.0.1 or HARNESS_LISTEN_ADDRESS (0 picks a free one)")
	flag.Parse()

	if err := serve.Run(*port, jsonfront.Handler(roundtrip)); err != nil {
		fmt.Fprintln(os.Stderr, "json-front-cgo:", err)
		os.Exit(1)
	}
}
