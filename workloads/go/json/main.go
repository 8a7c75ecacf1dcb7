// Command json decodes a corpus of tweets and GeoJSON polygons into typed structs with
// encoding/json, re-encodes the whole corpus, and prints the FNV-1a 64 checksum of the output.
//
// Usage: json INPUT
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"gorust/workloads/json/model"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: json INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	start := time.Now()
	var corpus model.Corpus
	if err := json.Unmarshal(input, &corpus); err != nil {
		fmt.Fprintln(os.Stderr, "decode:", err)
		os.Exit(1)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	// json.Marshal would escape <, > and & as \u003c etc.; serde_json does not, and neither does
	// any JSON encoder that is not guarding against HTML injection.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&corpus); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
	elapsed := time.Since(start).Seconds()

	model.Report(model.TrimNewline(out.Bytes()), corpus.Items(), len(input), elapsed)
}
