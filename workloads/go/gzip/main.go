// Command gzip decompresses the shared reference stream (the input file: the corpus gzipped once by
// the input generator), compresses the corpus with compress/gzip at level 6, decompresses that back,
// and checks that the round trip reproduces the corpus. The three phases together are the timed
// work; the checksum is FNV-1a 64 of the decompressed bytes, so it equals the checksum of the corpus
// whatever compressed bytes the implementation chose. The program around the gzip calls is in
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
