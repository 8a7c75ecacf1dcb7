//go:build cgo

// Package rustsha256 calls the SHA-256 of the Rust sha2 crate through cgo: the C ABI of the
// sha256-ffi crate (workloads/rust/crates/sha256-ffi), linked into the Go binary as a static
// library. It is what the go+rust hybrid programs (sha256-cgo, sha256-calls-cgo) hash with.
//
// The harness builds the library with cargo and names it to the linker in CGO_LDFLAGS (the .a
// file itself, under a name that carries its content hash, so Go's build cache, which does not
// watch C libraries, never links a stale one). By hand, from workloads/go:
//
//	(cd ../rust && cargo build --release -p sha256-ffi)
//	CGO_ENABLED=1 CGO_LDFLAGS=$PWD/../rust/target/release/libsha256_ffi.a go build ./sha256-cgo
//
// The system libraries in LDFLAGS are what rustc lists for a staticlib on Linux (--print
// native-static-libs). The noescape and nocallback annotations (Go 1.24) tell cgo that Rust keeps
// no pointer it is given and never calls back into Go, which spares each call the bookkeeping for
// both; the Rust side promises exactly that (src/lib.rs).
package rustsha256

/*
#cgo LDFLAGS: -lgcc_s -lutil -lrt -lpthread -lm -ldl
#cgo noescape gorust_sha256
#cgo nocallback gorust_sha256
#cgo noescape gorust_sha256_update
#cgo nocallback gorust_sha256_update
#cgo noescape gorust_sha256_finish
#cgo nocallback gorust_sha256_finish
#include <stddef.h>
#include <stdint.h>
void gorust_sha256(const uint8_t *data, size_t len, uint8_t *out);
void *gorust_sha256_new(void);
void gorust_sha256_update(void *hasher, const uint8_t *data, size_t len);
void gorust_sha256_finish(void *hasher, uint8_t *out);
*/
import "C"

import "unsafe"

// Available says the package was built with cgo, so the functions below call Rust.
const Available = true

// Size is the size of a SHA-256 digest in bytes.
const Size = 32

func bytes(p []byte) *C.uint8_t {
	return (*C.uint8_t)(unsafe.SliceData(p)) // nil for an empty slice; Rust reads no bytes then
}

// Sum writes the SHA-256 of msg to out: one call into Rust.
func Sum(msg []byte, out *[Size]byte) {
	C.gorust_sha256(bytes(msg), C.size_t(len(msg)), (*C.uint8_t)(unsafe.Pointer(out)))
}

// Hasher is a streaming SHA-256 hasher that lives on the Rust side.
type Hasher struct {
	state unsafe.Pointer // a C pointer (Rust's Box), never Go memory
}

// New returns a hasher; call Sum exactly once to get the digest and free it.
func New() *Hasher {
	return &Hasher{state: C.gorust_sha256_new()}
}

// Write feeds p to the hasher: one call into Rust.
func (h *Hasher) Write(p []byte) {
	C.gorust_sha256_update(h.state, bytes(p), C.size_t(len(p)))
}

// Sum writes the digest to out and frees the Rust hasher; h must not be used afterwards.
func (h *Hasher) Sum(out *[Size]byte) {
	C.gorust_sha256_finish(h.state, (*C.uint8_t)(unsafe.Pointer(out)))
	h.state = nil
}
