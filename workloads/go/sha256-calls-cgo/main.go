// Command sha256-calls-cgo is the Go->Rust side of the sha256-calls micro-sweep: the same Go loop
// as sha256-calls (package grains), each hash one cgo call into the Rust sha2 crate (package
// rustsha256). Its per-call cost minus the Rust-only program's is the boundary's.
//
// Usage: sha256-calls-cgo INPUT GRAINS
package main

import (
	"fmt"
	"os"

	"gorust/workloads/internal/grains"
	"gorust/workloads/internal/rustsha256"
)

func main() {
	if !rustsha256.Available {
		fmt.Fprintln(os.Stderr, "sha256-calls-cgo: built without cgo (CGO_ENABLED=0): this go+rust program calls Rust through cgo")
		os.Exit(2)
	}
	grains.Run("sha256-calls-cgo", rustsha256.Sum)
}
