//go:build !cgo

// Package rustsha256, built without cgo (CGO_ENABLED=0, or no C compiler): nothing can call Rust,
// so Available is false and the hybrid commands exit with that reason before hashing anything.
// This file keeps `go build ./...` and `go vet ./...` working on such a machine.
package rustsha256

// Available says the package was built with cgo; here it was not.
const Available = false

// Size is the size of a SHA-256 digest in bytes.
const Size = 32

const unavailable = "rustsha256: built without cgo (CGO_ENABLED=0): cannot call Rust"

// Sum is unavailable without cgo.
func Sum(_ []byte, _ *[Size]byte) { panic(unavailable) }

// Hasher is unavailable without cgo.
type Hasher struct{}

// New is unavailable without cgo.
func New() *Hasher { panic(unavailable) }

// Write is unavailable without cgo.
func (h *Hasher) Write(_ []byte) { panic(unavailable) }

// Sum is unavailable without cgo.
func (h *Hasher) Sum(_ *[Size]byte) { panic(unavailable) }
