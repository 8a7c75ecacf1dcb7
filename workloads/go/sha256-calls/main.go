// Command sha256-calls is the Go-only side of the sha256-calls micro-sweep: the per-call cost of
// crypto/sha256 at several call grains (package grains; workloads/docs/sha256-calls.md).
//
// Usage: sha256-calls INPUT GRAINS
package main

import (
	"crypto/sha256"

	"gorust/workloads/internal/grains"
)

func main() {
	grains.Run("sha256-calls", func(msg []byte, out *[sha256.Size]byte) { *out = sha256.Sum256(msg) })
}
