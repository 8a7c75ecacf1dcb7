// Command gzip-klauspost is the gzip workload with github.com/klauspost/compress/gzip, a drop-in
// replacement for compress/gzip with the same API, at level 6. It runs the same program as ./gzip
// (package ./gzip/roundtrip): decompress the shared reference stream, compress the corpus,
// decompress that back, check that the round trip reproduces the corpus; the three phases together
// are the timed work.
//
// Usage: gzip-klauspost INPUT
package main

import (
	"io"

	"github.com/klauspost/compress/gzip"

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
	}.Main("gzip-klauspost")
}
