package main

import (
	"fmt"
	"testing"
)

// The same vectors as crates/pipeline-core's transform_matches_the_shared_vectors, computed by an
// independent Python transcription of the algorithm: a change on one side only fails here or there.
func TestTransformMatchesTheSharedVectors(t *testing.T) {
	vectors := []struct {
		record string
		rounds int
		want   digest
	}{
		{"the quick brown fox", 1, digest{0xc8ab1653b62fb674, 4}},
		{"the quick brown fox", 16, digest{0xa2b687076a182857, 4}},
		{"  ab  c ", 3, digest{0x49b93bbc15054e0a, 2}},
	}
	for _, v := range vectors {
		if got := transform([]byte(v.record), v.rounds); got != v.want {
			t.Errorf("transform(%q, %d) = %x, want %x", v.record, v.rounds, got, v.want)
		}
	}
}

func TestSplitRecordsDropsOnlyThePieceAfterAFinalNewline(t *testing.T) {
	for input, want := range map[string]int{"a b\nc\n": 2, "a b\nc": 2, "a\n\nb\n": 3, "": 0} {
		if got := len(splitRecords([]byte(input))); got != want {
			t.Errorf("splitRecords(%q): %d records, want %d", input, got, want)
		}
	}
}

// BenchmarkTransform is the transform alone, without channels, on one record of about the mean
// length (166 bytes), at 1 round and at the manifest's 32: the per-record cost that the
// pipeline's per-item overhead is compared with (workloads/docs/pipeline.md, "The grain").
func BenchmarkTransform(b *testing.B) {
	record := []byte("uhmbda lxkcm eirmyff cai goejq vo ifozdrsa vpfzsdcge lqmmmqocilrk thnvizdmva " +
		"qccwcczbbeld vvrmlwl tl rudqjswekle plkvjtrqs bhtvca eanlrcqxlbt nxjeldich wiqezbua egpsj")
	for _, rounds := range []int{1, 32} {
		b.Run(fmt.Sprintf("rounds=%d", rounds), func(b *testing.B) {
			for b.Loop() {
				transform(record, rounds)
			}
		})
	}
}
