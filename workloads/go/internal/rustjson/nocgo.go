//go:build !cgo

// Package rustjson, built without cgo (CGO_ENABLED=0, or no C compiler): nothing can call Rust,
// so Available is false and json-cgo exits with that reason before doing any work. This file
// keeps `go build ./...` and `go vet ./...` working on such a machine.
package rustjson

import "errors"

// Available says the package was built with cgo; here it was not.
const Available = false

// ErrRust is what Roundtrip returns without cgo.
var ErrRust = errors.New("rustjson: built without cgo (CGO_ENABLED=0): cannot call Rust")

// Result is unavailable without cgo.
type Result struct{}

// Roundtrip is unavailable without cgo.
func Roundtrip(_ []byte) (*Result, error) { return nil, ErrRust }

// Output is unavailable without cgo.
func (r *Result) Output() []byte { return nil }

// Items is unavailable without cgo.
func (r *Result) Items() int { return 0 }

// Free is unavailable without cgo.
func (r *Result) Free() {}
