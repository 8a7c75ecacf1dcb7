// Command kv-cache is an in-memory key-value cache served over HTTP with net/http: a map behind a
// sync.RWMutex, preloaded with --entries small entries so that the process carries a large live
// heap of millions of pointers, which Go's garbage collector has to trace while PUTs churn it.
//
// GET /kv/{key} answers the value (200) or 404; PUT /kv/{key} stores the body as the new value
// (204). The Rust crate workloads/rust/crates/kv-cache answers with the same bytes;
// workloads/docs/kv-cache.md describes the workload and workloads/docs/http-json.md the contract.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"gorust/workloads/internal/serve"
)

const maxValueSize = 1024 // PUT bodies above this are refused with 413

// key and value give the preloaded entry i; the Rust side uses the same formulas.
func key(i uint64) string {
	return fmt.Sprintf("key-%08d", i)
}

// value is 32..64 bytes: a per-entry hash, then padding of a per-entry length.
func value(i uint64) string {
	return fmt.Sprintf("value-%08d-%016x-", i, splitmix64(i)) + strings.Repeat("x", int(i%33))
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type cache struct {
	mu sync.RWMutex
	m  map[string]string
}

func newCache(entries uint64) *cache {
	c := &cache{m: make(map[string]string, entries)}
	for i := range entries {
		c.m[key(i)] = value(i)
	}
	return c
}

func (c *cache) get(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	v, ok := c.m[r.PathValue("key")]
	c.mu.RUnlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = io.WriteString(w, v) // a failed write means the client went away: nothing to do
}

func (c *cache) put(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxValueSize+1))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if len(body) > maxValueSize {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	k, v := r.PathValue("key"), string(body) // neither aliases a buffer the server reuses
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	port := flag.Int("port", 8080, "TCP port to listen on, at 127.0.0.1 or HARNESS_LISTEN_ADDRESS (0 picks a free one)")
	entries := flag.Uint64("entries", 1000000, "entries preloaded before the server starts listening")
	flag.Parse()

	// Preload before listening: /health answers only once the cache is full.
	c := newCache(*entries)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", serve.Health)
	mux.HandleFunc("GET /kv/{key}", c.get)
	mux.HandleFunc("PUT /kv/{key}", c.put)
	if err := serve.Run(*port, mux); err != nil {
		fmt.Fprintln(os.Stderr, "kv-cache:", err)
		os.Exit(1)
	}
}
