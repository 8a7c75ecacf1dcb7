// Command json-goccy is the goccy/go-json variant of the json workload: the same typed decode and
// re-encode as ./json, with the drop-in replacement for encoding/json.
//
// Usage: json-goccy INPUT
package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	json "github.com/goccy/go-json"

	"gorust/workloads/json/model"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: json-goccy INPUT")
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
	// Same API and same default as encoding/json: switch off the HTML escaping of <, > and &.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&corpus); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
	elapsed := time.Since(start).Seconds()

	model.Report(model.TrimNewline(out.Bytes()), corpus.Items(), len(input), elapsed)
}
