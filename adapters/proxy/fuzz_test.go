package oryproxy

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzSubpath: whatever path a client sends, what the proxy accepts is a
// clean path under the prefix that reaches Ory as exactly that path.
func FuzzSubpath(f *testing.F) {
	for _, s := range []string{
		"/.ory/sessions/whoami", "/.ory/self-service/../admin", "/.ory/%2e%2e/admin", "/.ory/a%2fb",
		"/.ory//x", "/.ory/a\\b", "/.ory/%252e", "/.ory/ui/%5Bx%5D.js", "/.oryx/a", "/.ory/./a",
	} {
		f.Add(s)
	}
	s, err := (&Config{OryURL: "https://ory.example/base", AppURL: "https://app.example"}).settings()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		dec, esc, ok := s.orySubpath(u)
		if !ok {
			return
		}
		if path.Clean(dec) != dec || hasDotSegment(dec) || strings.ContainsAny(dec, "\\%") || !strings.HasPrefix(u.EscapedPath(), "/.ory/") {
			t.Fatalf("accepted %q as %q", raw, dec)
		}
		target := *s.ory
		target.Path = s.ory.Path + dec
		target.RawPath = s.ory.EscapedPath() + esc
		back, err := url.Parse(target.String())
		if err != nil || back.Path != "/base"+dec {
			t.Fatalf("%q reaches Ory as %q (%v), want /base%s", raw, back.Path, err, dec)
		}
	})
}

func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
