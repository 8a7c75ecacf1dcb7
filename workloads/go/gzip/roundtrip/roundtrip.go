// Package roundtrip is the whole gzip workload except the choice of gzip package. It is shared by
// the default implementation (compress/gzip) and the klauspost variant
// (github.com/klauspost/compress/gzip, a drop-in twin of the stdlib API), so that both run exactly
// the same code around the library.
//
// The input file is the shared reference stream: the corpus as one gzip member written by the
// input generator with Python's zlib, the same bytes for every implementation. The timed work is
// three phases: decompress the reference stream (the same work on every side), compress the
// corpus at level 6 with this library, and decompress that stream back. The round trip is checked
// to reproduce the corpus; the checksum is FNV-1a 64 of the decompressed bytes, so it equals the
// checksum of the corpus whatever compressed bytes the library chose.
package roundtrip

import (
	"bytes"
	"encoding/binary"
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

// decompress reads one gzip stream to EOF into a buffer allocated once. bytes.Buffer.ReadFrom
// grows the buffer whenever fewer than bytes.MinRead bytes are spare, including for the last read
// that only finds EOF: a buffer of exactly sizeHint would be reallocated at double capacity and
// copied at the very end (8-10 ms of ~50 ms at 8 MiB). The spare MinRead bytes keep it to the one
// allocation the Rust side makes (its read_to_end probes a full Vec with a small stack read
// instead of growing it); roundtrip_test.go checks it.
func (c Codec) decompress(compressed []byte, sizeHint int) ([]byte, error) {
	zr, err := c.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, sizeHint+bytes.MinRead))
	// Reading to EOF also verifies the CRC-32 and length in the gzip trailer.
	if _, err := out.ReadFrom(zr); err != nil {
		return nil, err
	}
	return out.Bytes(), zr.Close()
}

// trailerSize is the uncompressed size the gzip trailer states (ISIZE: the last four bytes, little
// endian, modulo 2^32), used only to size the output buffer; reading to EOF checks it.
func trailerSize(stream []byte) (int, error) {
	if len(stream) < 18 { // 10-byte header + empty deflate data + 8-byte trailer
		return 0, errors.New("input is not a gzip stream (shorter than 18 bytes)")
	}
	return int(binary.LittleEndian.Uint32(stream[len(stream)-4:])), nil
}

func (c Codec) run(path string) error {
	reference, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	size, err := trailerSize(reference)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}

	start := time.Now()
	input, err := c.decompress(reference, size)
	if err != nil {
		return fmt.Errorf("decompress the reference stream: %w", err)
	}
	refEnd := time.Now()
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
			"reference_decompress_seconds": refEnd.Sub(start).Seconds(),
			"compress_seconds":             mid.Sub(refEnd).Seconds(),
			"decompress_seconds":           end.Sub(mid).Seconds(),
			"compressed_bytes":             float64(len(compressed)),
			"reference_compressed_bytes":   float64(len(reference)),
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
