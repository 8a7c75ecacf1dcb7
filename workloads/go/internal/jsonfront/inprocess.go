package jsonfront

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"gorust/workloads/json/model"
)

// InProcess is the pure Go Roundtrip: the json workload's own calls (workloads/go/json),
// encoding/json decode into model.Corpus, then re-encode with HTML escaping off.
func InProcess(_ context.Context, corpus []byte) ([]byte, error) {
	var c model.Corpus
	if err := json.Unmarshal(corpus, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // as workloads/go/json: serde_json does not escape <, > and &
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	encoded := model.TrimNewline(out.Bytes())
	return AppendSummary(nil, uint64(c.Items()), uint64(len(encoded)), model.Checksum(encoded)), nil
}
