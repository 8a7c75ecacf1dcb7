//go:build cgo

// Package rustjson calls the json workload's Rust implementation (serde_json decode into the
// typed corpus, then re-encode) through cgo: the C ABI of the json-ffi crate
// (workloads/rust/crates/json-ffi), linked into the Go binary as a static library. The harness
// names the library in CGO_LDFLAGS, as for rustsha256 (see that package for building by hand).
//
// The LDFLAGS are what rustc lists for a staticlib on Linux (--print native-static-libs).
package rustjson

/*
#cgo LDFLAGS: -lgcc_s -lutil -lrt -lpthread -lm -ldl
#cgo noescape gorust_json_roundtrip
#cgo nocallback gorust_json_roundtrip
#include <stddef.h>
#include <stdint.h>
typedef struct Roundtrip Roundtrip;
Roundtrip *gorust_json_roundtrip(const uint8_t *input, size_t len);
const uint8_t *gorust_json_output(const Roundtrip *roundtrip, size_t *len);
size_t gorust_json_items(const Roundtrip *roundtrip);
void gorust_json_free(Roundtrip *roundtrip);
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Available says the package was built with cgo, so Roundtrip calls Rust.
const Available = true

// ErrRust says Rust could not decode or re-encode the input.
var ErrRust = errors.New("serde_json could not decode or re-encode the input (in Rust)")

// Result is the decoded corpus and its encoding, owned by Rust until Free.
type Result struct {
	handle *C.Roundtrip
}

// Roundtrip decodes input into the typed corpus and re-encodes it, in Rust: one call.
func Roundtrip(input []byte) (*Result, error) {
	handle := C.gorust_json_roundtrip((*C.uint8_t)(unsafe.SliceData(input)), C.size_t(len(input)))
	if handle == nil {
		return nil, ErrRust
	}
	return &Result{handle: handle}, nil
}

// Output is the encoded corpus in Rust's memory, valid until Free (no copy).
func (r *Result) Output() []byte {
	var n C.size_t
	p := C.gorust_json_output(r.handle, &n)
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// Items is the number of documents: tweets plus geometry features.
func (r *Result) Items() int {
	return int(C.gorust_json_items(r.handle))
}

// Free drops the corpus and the output on the Rust side; r must not be used afterwards.
func (r *Result) Free() {
	C.gorust_json_free(r.handle)
	r.handle = nil
}
