package release

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Snippet is a Go program in README.md marked for the go get check:
//
//	<!-- snippet: gin -->
//	```go
//	package main
//	...
//	```
//
// Name is the adapter's directory under adapters/.
type Snippet struct {
	Name string
	Line int // of the marker
	Code string
}

var snippetMarker = regexp.MustCompile(`^<!--\s*snippet:\s*([A-Za-z0-9._-]+)\s*-->\s*$`)

// Snippets returns the marked snippets of a README, in order. A marker must
// be followed by a ```go fence; a name may appear once.
func Snippets(readme []byte) ([]Snippet, error) {
	var out []Snippet
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(readme))
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	for {
		text, ok := next()
		if !ok {
			break
		}
		m := snippetMarker.FindStringSubmatch(strings.TrimSpace(text))
		if m == nil {
			continue
		}
		s := Snippet{Name: m[1], Line: line}
		if prev, dup := seen[s.Name]; dup {
			return nil, fmt.Errorf("README line %d: snippet %q already marked on line %d", line, s.Name, prev)
		}
		seen[s.Name] = line
		fence, ok := next()
		if !ok || strings.TrimSpace(fence) != "```go" {
			return nil, fmt.Errorf("README line %d: snippet %q: the marker must be followed by a ```go line", s.Line, s.Name)
		}
		var code strings.Builder
		closed := false
		for {
			text, ok := next()
			if !ok {
				break
			}
			if strings.TrimSpace(text) == "```" {
				closed = true
				break
			}
			code.WriteString(text)
			code.WriteByte('\n')
		}
		if !closed {
			return nil, fmt.Errorf("README line %d: snippet %q: no closing ```", s.Line, s.Name)
		}
		s.Code = code.String()
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read README: %w", err)
	}
	return out, nil
}
