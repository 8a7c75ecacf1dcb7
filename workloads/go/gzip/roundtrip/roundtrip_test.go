package roundtrip

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// The decompression buffer is allocated once: ReadFrom must never grow it, including for the
// final read that only finds EOF (workloads/docs/gzip.md, "Asymmetries").
func TestDecompressAllocatesTheOutputOnce(t *testing.T) {
	codec := Codec{
		NewWriter: func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriterLevel(w, Level) },
		NewReader: func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) },
	}
	for _, size := range []int{0, 1, 4096, 1 << 20} {
		data := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		compressed, err := codec.compress(data)
		if err != nil {
			t.Fatal(err)
		}
		hint, err := trailerSize(compressed)
		if err != nil || hint != size {
			t.Fatalf("trailerSize = %d, %v; want %d", hint, err, size)
		}
		out, err := codec.decompress(compressed, size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("size %d: round trip differs", size)
		}
		if want := size + bytes.MinRead; cap(out) != want {
			t.Fatalf("size %d: output capacity %d, want %d (the buffer was reallocated)", size, cap(out), want)
		}
	}
}
