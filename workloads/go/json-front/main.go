// Command json-front is the Go front of the json-service hybrid (workloads/docs/json-service.md):
// an HTTP server whose POST /roundtrip does the json workload's work on the request body (decode
// the corpus into the typed model, re-encode it compactly) and answers with the items, length and
// FNV-1a 64 of the re-encoding. By default the work is done in-process with encoding/json; with
// HARNESS_BACKEND=grpc:TARGET or http:TARGET it is handed to a back-end process (json-service).
//
// Usage: json-front [--port P]
package main

import (
	"flag"
	"fmt"
	"os"

	"gorust/workloads/internal/jsonfront"
	"gorust/workloads/internal/serve"
)

func main() {
	port := flag.Int("port", 8080, "TCP port to listen on, at 127.0.0.1 or HARNESS_LISTEN_ADDRESS (0 picks a free one)")
	flag.Parse()

	rt, _, err := jsonfront.FromEnvironment()
	if err != nil {
		fmt.Fprintln(os.Stderr, "json-front:", err)
		os.Exit(1)
	}
	if err := serve.Run(*port, jsonfront.Handler(rt)); err != nil {
		fmt.Fprintln(os.Stderr, "json-front:", err)
		os.Exit(1)
	}
}
