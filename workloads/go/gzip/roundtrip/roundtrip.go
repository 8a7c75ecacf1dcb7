// Package roundtrip is the whole gzip workload except the choice of gzip package. It is shared by
// the default implementation (compress/gzip) and the klauspost variant
// (github.com/klauspost/compress/gzip, a drop-in twin of the stdlib API), so that both run exactly
// the same code around the library.
//
// The whole input is compressed in memory at level 6, decompressed back, and the round trip is
// checked to reproduce the input. Both phases together are the timed work; the checksum is FNV-1a
// 64 of the decompressed bytes, so it equals the checksum of the input whatever compressed bytes
// the library chose.
package roundtrip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"
)

// Level is the compression level both implementations use.
const Level = 6

// Codec is a gzip package: gzip.NewWriterLevel(w, Level) and gzip.NewReader(r).
type Codec struct {
	NewWriter func(w io.Writer) (io.WriteCloser, error)
	NewReader func(r io.Reader) (io.ReadCloser, error)
}

type result struct {
	Checksum    string             `json:"checksum"`
	Items       int                `json:"items"`
	Bytes       int                `json:"bytes"`
	WorkSeconds float64            `json:"work_seconds"`
	Extra       map[string]float64 `json:"extra"`
}

func (c Codec) compress(input []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := c.NewWriter(&buf)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(input); err != nil {
		return nil, err
	}
	// Close flushes the last block and writes the CRC-32 + size trailer.
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c Codec) decompress(compressed []byte, sizeHint int) ([]byte, error) {
	zr, err := c.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	// The original size is known, so the output is allocated once (the Rust side does the same).
	out := bytes.NewBuffer(make([]byte, 0, sizeHint))
	// Reading to EOF also verifies the CRC-32 and length in the gzip trailer.
	if _, err := out.ReadFrom(zr); err != nil {
		return nil, err
	}
	return out.Bytes(), zr.Close()
}

func (c Codec) run(path string) error {
	input, err := os.ReadFile(path)
	if err != nil {
		return err
	}

	start := time.Now()
	compressed, err := c.compress(input)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	mid := time.Now()
	output, err := c.decompress(compressed, len(input))
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	end := time.Now()

	if !bytes.Equal(output, input) {
		return errors.New("round trip did not reproduce the input")
	}
	h := fnv.New64a()
	h.Write(output)

	line, err := json.Marshal(result{
		Checksum:    fmt.Sprintf("%016x", h.Sum64()),
		Items:       1,
		Bytes:       len(input),
		WorkSeconds: end.Sub(start).Seconds(),
		Extra: map[string]float64{
			"compress_seconds":   mid.Sub(start).Seconds(),
			"decompress_seconds": end.Sub(mid).Seconds(),
			"compressed_bytes":   float64(len(compressed)),
		},
	})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

// Main is the whole program for the binary called name: `name INPUT`.
func (c Codec) Main(name string) {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s INPUT\n", name)
		os.Exit(2)
	}
	if err := c.run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
