// Command __NAME__ is a server workload pair made by `harness new`: GET /work?n=N answers with the
// FNV-1a 64 of the decimal numbers 0..N-1, one per line, a placeholder for your own handler.
// Replace handleWork and keep main: serve.go (copied from the harness) listens on 127.0.0.1 (or
// the IP address in HARNESS_LISTEN_ADDRESS, which the harness sets for load from other hosts),
// answers /health and stops on SIGTERM with the transport settings the Rust side uses.
//
// Usage: __NAME__ --port PORT
package main

import (
	"flag"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"strconv"
)

// maxN bounds the work one request may ask for.
const maxN = 1_000_000

// handleWork is the code being measured: paste yours here. The Rust side must answer every
// request with the same status and bytes.
func handleWork(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 || n > maxN {
		http.Error(w, "n must be an integer in [0, 1000000]", http.StatusBadRequest)
		return
	}
	hash := fnv.New64a()
	line := make([]byte, 0, 24)
	for i := range n {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, '\n')
		hash.Write(line)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%016x\n", hash.Sum64())
}

func main() {
	port := flag.Int("port", 8080, "TCP port, at 127.0.0.1 or HARNESS_LISTEN_ADDRESS")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", Health)
	mux.HandleFunc("GET /work", handleWork)
	if err := Run(*port, mux); err != nil {
		fmt.Fprintln(os.Stderr, "__NAME__:", err)
		os.Exit(1)
	}
}
