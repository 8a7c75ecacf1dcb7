// Command http-json is a JSON-over-HTTP API server built on net/http and encoding/json.
//
// GET /records?n=N serialises the first N records of a table built at start-up; POST /records
// decodes a JSON array of records into typed structs, validates them and answers with a small
// summary. The Rust crate workloads/rust/crates/http-json answers every request with the same
// bytes; workloads/docs/http-json.md holds the server contract.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"gorust/workloads/internal/serve"
)

const (
	maxRecords  = 10000   // largest n accepted by GET /records (and the table size)
	maxBodySize = 1 << 20 // POST bodies above this are refused with 413
	maxTags     = 16
)

type Address struct {
	Street string `json:"street"`
	City   string `json:"city"`
	Zip    string `json:"zip"`
}

type Record struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Tags    []string `json:"tags"`
	Score   float64  `json:"score"`
	Active  bool     `json:"active"`
	Address Address  `json:"address"`
}

// Summary is the answer to a valid POST /records.
type Summary struct {
	OK     bool `json:"ok"`
	Count  int  `json:"count"`
	Active int  `json:"active"`
	Tags   int  `json:"tags"`
}

type apiError struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// The tables hold no '<', '>' or '&' so encoding/json's default HTML escaping never fires and the
// output matches serde_json byte for byte.
var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace",
		"John", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Tim", "Yukihiro"}
	lastNames = []string{"Lovelace", "Turing", "Liskov", "Shannon", "Knuth", "Dijkstra", "Allen",
		"Hopper", "McCarthy", "Thompson", "Lamport", "Hamilton", "Wirth", "Perlman", "Berners-Lee",
		"Matsumoto", "Ritchie"}
	tagNames = []string{"admin", "beta", "billing", "core", "eu", "free", "mobile", "ops", "pro",
		"support", "trial", "us"}
	streets = []string{"Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St", "Lake Blvd"}
	cities  = []string{"Springfield", "Riverton", "Fairview", "Greenville", "Bristol", "Clinton",
		"Madison", "Georgetown", "Salem", "Franklin", "Arlington"}
)

// makeRecord builds record i; the Rust side uses the same formulas.
func makeRecord(i int) Record {
	first := firstNames[i%len(firstNames)]
	last := lastNames[(i/len(firstNames))%len(lastNames)]
	id := int64(i + 1)
	tags := make([]string, 1+i%3)
	for j := range tags {
		tags[j] = tagNames[(i+j*5)%len(tagNames)]
	}
	return Record{
		ID:    id,
		Name:  first + " " + last,
		Email: fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), id),
		Tags:  tags,
		// (2k+1)/200 is never an integer, so both encoders print a fraction (Go would print
		// 12 where serde_json prints 12.0).
		Score:  float64(2*((i*7919)%10000)+1) / 200,
		Active: i%3 != 0,
		Address: Address{
			Street: fmt.Sprintf("%d %s", 100+(i*37)%900, streets[i%len(streets)]),
			City:   cities[(i/3)%len(cities)],
			Zip:    fmt.Sprintf("%05d", (i*7919)%100000),
		},
	}
}

func validate(r *Record) error {
	switch {
	case r.ID <= 0:
		return errors.New("id must be positive")
	case r.Name == "":
		return errors.New("name is empty")
	case !strings.Contains(r.Email, "@"):
		return errors.New("invalid email")
	case len(r.Tags) > maxTags:
		return errors.New("too many tags")
	case !(r.Score >= 0 && r.Score <= 100):
		return errors.New("score out of range")
	case len(r.Address.Zip) != 5:
		return errors.New("invalid zip")
	}
	return nil
}

type server struct {
	table []Record
}

// writeJSON marshals v in full first so the response carries a Content-Length (as axum's Json
// does) instead of switching to chunked encoding for bodies over net/http's 2 KiB buffer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client went away: nothing to do
}

func (s *server) getRecords(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid query parameter n"})
		return
	}
	if n > maxRecords {
		writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("n must be at most %d", maxRecords)})
		return
	}
	writeJSON(w, http.StatusOK, s.table[:n])
}

func postRecords(w http.ResponseWriter, r *http.Request) {
	var recs []Record
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodySize)).Decode(&recs); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "body too large"})
		} else {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid JSON body"})
		}
		return
	}
	sum := Summary{OK: true, Count: len(recs)}
	for i := range recs {
		if err := validate(&recs[i]); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("record %d: %v", i, err)})
			return
		}
		if recs[i].Active {
			sum.Active++
		}
		sum.Tags += len(recs[i].Tags)
	}
	writeJSON(w, http.StatusOK, sum)
}

func main() {
	port := flag.Int("port", 8080, "TCP port to listen on, at 127.0.0.1 or HARNESS_LISTEN_ADDRESS (0 picks a free one)")
	flag.Parse()

	s := &server{table: make([]Record, maxRecords)}
	for i := range s.table {
		s.table[i] = makeRecord(i)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", serve.Health)
	mux.HandleFunc("GET /records", s.getRecords)
	mux.HandleFunc("POST /records", postRecords)
	if err := serve.Run(*port, mux); err != nil {
		fmt.Fprintln(os.Stderr, "http-json:", err)
		os.Exit(1)
	}
}
