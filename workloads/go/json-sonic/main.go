// Command json-sonic is the bytedance/sonic variant of the json workload: the same typed decode
// and re-encode as ./json, with sonic's JIT-compiled codecs.
//
// Usage: json-sonic INPUT
package main

import (
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/bytedance/sonic"

	"gorust/workloads/json/model"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: json-sonic INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	// sonic compiles a codec for each type the first time it sees it; Pretouch does that ahead of
	// time (as sonic's README advises for large types), so the clock below times only the work.
	// The JIT cost still shows in the wall time.
	if err := sonic.Pretouch(reflect.TypeFor[model.Corpus]()); err != nil {
		fmt.Fprintln(os.Stderr, "pretouch:", err)
		os.Exit(1)
	}

	start := time.Now()
	// sonic.Unmarshal/Marshal use sonic.ConfigDefault, what sonic users get out of the box: no
	// HTML escaping, and decoded strings may point into the input buffer instead of being copied.
	var corpus model.Corpus
	if err := sonic.Unmarshal(input, &corpus); err != nil {
		fmt.Fprintln(os.Stderr, "decode:", err)
		os.Exit(1)
	}
	out, err := sonic.Marshal(&corpus)
	if err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
	elapsed := time.Since(start).Seconds()

	model.Report(out, corpus.Items(), len(input), elapsed)
}
