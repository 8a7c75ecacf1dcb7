// Command logparse aggregates a web access log in Combined Log Format.
//
// Each line is parsed at the byte level with the standard library only (bytes.IndexByte and
// friends, no regexp), into status, response size and request path. It counts requests and sums
// bytes per status and per path (the request target without its query string), then renders the
// aggregates as canonical text: statuses ascending, then the 50 most requested paths (count
// descending, ties by path ascending). The checksum is FNV-1a 64 of that text.
//
// A line is malformed (counted, otherwise ignored) unless it has the shape
//
//	HOST IDENT USER [TIME] "METHOD TARGET PROTO" STATUS SIZE "REFERER" "AGENT"
//
// with non-empty space-free HOST/IDENT/USER/METHOD/TARGET/PROTO, STATUS exactly three digits and
// SIZE either "-" (0 bytes) or 1 to 18 digits. workloads/docs/logparse.md has the exact rules.
//
// Usage: logparse INPUT
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"strings"
	"time"
)

// topPaths is how many paths the rendering lists.
const topPaths = 50

type entry struct {
	status int
	size   uint64
	path   []byte
}

type totals struct {
	count uint64
	bytes uint64
}

// stats holds the aggregates over the whole log.
type stats struct {
	lines     uint64
	malformed uint64
	status    [1000]totals // indexed by the three-digit status
	paths     map[string]*totals
}

// cut returns the bytes before the first sep and the bytes after it.
func cut(s []byte, sep byte) (before, after []byte, found bool) {
	i := bytes.IndexByte(s, sep)
	if i < 0 {
		return s, nil, false
	}
	return s[:i], s[i+1:], true
}

// field returns the non-empty token before the next space and the rest after that space.
func field(s []byte) (tok, rest []byte, ok bool) {
	tok, rest, ok = cut(s, ' ')
	return tok, rest, ok && len(tok) > 0
}

// parseLine extracts status, size and path from one line; ok is false for a malformed line.
func parseLine(line []byte) (e entry, ok bool) {
	rest := line
	for range 3 { // host, ident, user
		if _, rest, ok = field(rest); !ok {
			return e, false
		}
	}
	// [TIME] followed by ` "`.
	if len(rest) == 0 || rest[0] != '[' {
		return e, false
	}
	if _, rest, ok = cut(rest[1:], ']'); !ok || !bytes.HasPrefix(rest, []byte(` "`)) {
		return e, false
	}
	// "METHOD TARGET PROTO" followed by a space.
	request, rest, ok := cut(rest[2:], '"')
	if !ok || len(rest) == 0 || rest[0] != ' ' {
		return e, false
	}
	rest = rest[1:]
	_, request, ok = field(request) // method
	if !ok {
		return e, false
	}
	target, proto, ok := field(request)
	if !ok || len(proto) == 0 || bytes.IndexByte(proto, ' ') >= 0 {
		return e, false
	}
	e.path, _, _ = cut(target, '?')

	// STATUS: exactly three digits, then a space.
	if len(rest) < 4 || rest[3] != ' ' {
		return e, false
	}
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return e, false
		}
		e.status = e.status*10 + int(c-'0')
	}
	// SIZE: "-" or 1..18 digits (so that it cannot overflow), then a space.
	size, rest, ok := field(rest[4:])
	if !ok {
		return e, false
	}
	if !(len(size) == 1 && size[0] == '-') {
		if len(size) > 18 {
			return e, false
		}
		for _, c := range size {
			if c < '0' || c > '9' {
				return e, false
			}
			e.size = e.size*10 + uint64(c-'0')
		}
	}
	// "REFERER" "AGENT" and nothing after the closing quote.
	if len(rest) == 0 || rest[0] != '"' {
		return e, false
	}
	if _, rest, ok = cut(rest[1:], '"'); !ok || !bytes.HasPrefix(rest, []byte(` "`)) {
		return e, false
	}
	rest = rest[2:]
	if len(rest) == 0 || rest[len(rest)-1] != '"' {
		return e, false
	}
	return e, true
}

// aggregate parses every line of the log.
func aggregate(input []byte) *stats {
	s := &stats{paths: make(map[string]*totals)}
	for len(input) > 0 {
		var line []byte
		line, input, _ = cut(input, '\n')
		s.lines++
		e, ok := parseLine(line)
		if !ok {
			s.malformed++
			continue
		}
		st := &s.status[e.status]
		st.count++
		st.bytes += e.size
		// The string(e.path) conversion in a map index does not allocate; only a new key does.
		if p := s.paths[string(e.path)]; p != nil {
			p.count++
			p.bytes += e.size
		} else {
			s.paths[string(e.path)] = &totals{count: 1, bytes: e.size}
		}
	}
	return s
}

// render writes the canonical text of the aggregates.
func (s *stats) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lines %d\nmalformed %d\n", s.lines, s.malformed)
	for code, st := range s.status {
		if st.count > 0 {
			fmt.Fprintf(&b, "status %d %d %d\n", code, st.count, st.bytes)
		}
	}
	fmt.Fprintf(&b, "paths %d\n", len(s.paths))
	keys := make([]string, 0, len(s.paths))
	for k := range s.paths {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ca, cb := s.paths[a].count, s.paths[b].count; ca != cb {
			if ca > cb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys[:min(topPaths, len(keys))] {
		fmt.Fprintf(&b, "path %d %d %s\n", s.paths[k].count, s.paths[k].bytes, k)
	}
	return b.String()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: logparse INPUT")
		os.Exit(2)
	}
	input, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "logparse:", err)
		os.Exit(1)
	}

	start := time.Now()
	s := aggregate(input)
	text := s.render()
	elapsed := time.Since(start).Seconds()
	h := fnv.New64a()
	h.Write([]byte(text))
	sum := h.Sum64()

	result, err := json.Marshal(struct {
		Checksum    string  `json:"checksum"`
		Items       uint64  `json:"items"`
		Bytes       int     `json:"bytes"`
		WorkSeconds float64 `json:"work_seconds"`
	}{fmt.Sprintf("%016x", sum), s.lines, len(input), elapsed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "logparse:", err)
		os.Exit(1)
	}
	// The canonical text first (handy for diffing the two sides), then the contract's JSON line.
	fmt.Print(text)
	fmt.Println(string(result))
}
