// Command gzip compresses the whole input in memory with compress/gzip at level 6, decompresses it
// back, and checks that the round trip reproduces the input. Both phases together are the timed
// work; the checksum is FNV-1a 64 of the decompressed bytes, so it equals the checksum of the input
// whatever compressed bytes the implementation chose. The program around the two gzip calls is in
// ./roundtrip, shared with the klauspost variant.
//
// Usage: gzip INPUT
package main

import (
	"compress/gzip"
	"io"

	"gorust/workloads/gzip/roundtrip"
)

func main() {
	roundtrip.Codec{
		NewWriter: func(w io.Writer) (io.WriteCloser, error) {
			return gzip.NewWriterLevel(w, roundtrip.Level)
		},
		NewReader: func(r io.Reader) (io.ReadCloser, error) {
			return gzip.NewReader(r)
		},
	}.Main("gzip")
}
