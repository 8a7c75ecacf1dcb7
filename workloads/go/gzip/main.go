// Command gzip compresses the whole input in memory with compress/gzip at level 6, decompresses it
// back, and checks that the round trip reproduces the input. Both phases together are the timed
// work; the checksum is FNV-1a 64 of the decompressed bytes, so it equals the checksum of the input
// whatever compressed bytes the implementation chose.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"time"
)

const level = 6

type result struct {
	Checksum    string             `json:"checksum"`
	Items       int                `json:"items"`
	Bytes       int                `json:"bytes"`
	WorkSeconds float64            `json:"work_seconds"`
	Extra       map[string]float64 `json:"extra"`
}

func compress(input []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
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

func decompress(compressed []byte, sizeHint int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
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

func run(path string) error {
	input, err := os.ReadFile(path)
	if err != nil {
		return err
	}

	start := time.Now()
	compressed, err := compress(input)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	mid := time.Now()
	output, err := decompress(compressed, len(input))
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

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gzip INPUT")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gzip:", err)
		os.Exit(1)
	}
}
