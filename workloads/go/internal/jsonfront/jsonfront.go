// Package jsonfront is the HTTP front of the json-service hybrid (workloads/docs/json-service.md):
// POST /roundtrip takes a json-workload corpus as its body, hands it to a Roundtrip (in-process
// encoding/json, Rust through cgo, or a back-end process over gRPC or HTTP) and answers with
// {"items":N,"bytes":M,"checksum":"0123456789abcdef"}, the same bytes from every front, Go or Rust.
// The commands json-front and json-front-cgo differ only in the Roundtrip they pass to Handler.
package jsonfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"gorust/workloads/internal/serve"
)

// MaxBodySize is the largest corpus a front accepts (413 beyond), the same on every front and on
// the Rust back end's HTTP API; the gRPC back end accepts messages of this size plus framing.
const MaxBodySize = 16 << 20

// Roundtrip does the json workload's work on one corpus: decode it into the typed model,
// re-encode it compactly, and return the summary body (AppendSummary). An error wrapping
// ErrMalformed is the client's fault (400); a *BackendError is the back end's (502).
type Roundtrip func(ctx context.Context, corpus []byte) ([]byte, error)

// ErrMalformed says the corpus is not JSON of the model's shape.
var ErrMalformed = errors.New("malformed JSON corpus")

// BackendError says a back-end process did not do the work: unreachable, failed or gave an
// answer the front does not understand.
type BackendError struct {
	Err error
}

func (e *BackendError) Error() string { return "back end: " + e.Err.Error() }

func (e *BackendError) Unwrap() error { return e.Err }

// AppendSummary appends {"items":N,"bytes":M,"checksum":"..."} to dst: no spaces, no newline.
func AppendSummary(dst []byte, items, bytes uint64, checksum string) []byte {
	dst = append(dst, `{"items":`...)
	dst = strconv.AppendUint(dst, items, 10)
	dst = append(dst, `,"bytes":`...)
	dst = strconv.AppendUint(dst, bytes, 10)
	dst = append(dst, `,"checksum":"`...)
	dst = append(dst, checksum...)
	return append(dst, `"}`...)
}

// Handler serves GET /health and POST /roundtrip with rt.
func Handler(rt Roundtrip) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", serve.Health)
	mux.HandleFunc("POST /roundtrip", func(w http.ResponseWriter, r *http.Request) {
		corpus, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeText(w, http.StatusRequestEntityTooLarge, "body too large")
			} else {
				writeText(w, http.StatusBadRequest, "could not read body")
			}
			return
		}
		summary, err := rt(r.Context(), corpus)
		var backend *BackendError
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(summary)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(summary) // a failed write means the client went away
		case errors.Is(err, ErrMalformed):
			writeText(w, http.StatusBadRequest, ErrMalformed.Error())
		case errors.As(err, &backend):
			writeText(w, http.StatusBadGateway, backend.Error())
		default:
			writeText(w, http.StatusInternalServerError, err.Error())
		}
	})
	return mux
}

// writeText answers with a one-line text/plain message, as the Rust front does.
func writeText(w http.ResponseWriter, status int, msg string) {
	body := msg + "\n"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}
