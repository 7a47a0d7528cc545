package core_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/core"
)

func returnToOf(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u.Query().Get("return_to")
}

// sameOrigin reports whether a return_to value can only lead to the app:
// a single-slash relative path, or an absolute URL on app.
func sameOrigin(rt, app string) bool {
	if app != "" {
		return strings.HasPrefix(rt, app+"/")
	}
	if !strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") || strings.HasPrefix(rt, "/\\") {
		return false
	}
	u, err := url.Parse(rt)
	return err == nil && u.Host == "" && u.Scheme == "" && !strings.ContainsAny(rt, "\r\n\\")
}

func TestReturnTo(t *testing.T) {
	for _, tc := range []struct {
		uri, app, want string
	}{
		{"/dashboard", "", "/dashboard"},
		{"/a%20b/c?x=1&y=%2F", "", "/a%20b/c?x=1&y=%2F"},
		{"/dashboard?x=1", "https://app.example", "https://app.example/dashboard?x=1"},
		{"/dashboard", "https://app.example/base/", "https://app.example/base/dashboard"},
		{"//evil.example", "", "/"},
		{"//evil.example/x", "https://app.example", "https://app.example/"},
		{"/\\evil.example", "", "/"},
		{"/%2F%2Fevil.example", "", "/"},
		{"/%5Cevil.example", "", "/"},
		{"/%2Fevil.example", "", "/"},
		{"http://evil.example/path?q=1", "", "/path?q=1"},
		{"https://user@evil.example/", "", "/"},
		{"/x\r\nLocation: http://evil.example", "", "/"},
		{"/x\nSet-Cookie: a=b", "", "/"},
		{"*", "", "/"},
		{"", "", "/"},
		{"/@evil.example", "", "/@evil.example"},
		{"/ok?next=//evil.example", "", "/ok?next=//evil.example"},
	} {
		cfg := func(c *core.Config) { c.AppURL = tc.app }
		g, _ := newGuard(t, "https://ory.example", cfg)
		got := g.ReturnTo(&core.Request{URI: tc.uri})
		if got != tc.want {
			t.Errorf("ReturnTo(%q, app %q) = %q, want %q", tc.uri, tc.app, got, tc.want)
		}
		if !sameOrigin(got, strings.TrimSuffix(tc.app, "/")) {
			t.Errorf("ReturnTo(%q) = %q leaves the app", tc.uri, got)
		}
		// And the login redirect carries exactly that value.
		d := g.Route().Authenticate(context.Background(), browser(tc.uri, ""))
		if rt := returnToOf(t, d.Header.Get("Location")); rt != got {
			t.Errorf("redirect for %q carries return_to %q, want %q", tc.uri, rt, got)
		}
	}
}

func TestReturnToIgnoresHostHeaders(t *testing.T) {
	g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = "https://app.example" })
	r, _ := http.NewRequest(http.MethodGet, "http://evil.example/dash", nil)
	r.RequestURI = "/dash"
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	req := core.RequestFromHTTP(r)
	if got := g.ReturnTo(&req); got != "https://app.example/dash" {
		t.Fatalf("ReturnTo = %q", got)
	}
}

func TestSafeReturnTo(t *testing.T) {
	for _, tc := range []struct{ raw, app, want string }{
		{"", "", "/"},
		{"/settings?tab=2", "", "/settings?tab=2"},
		{"settings", "", "/"},
		{"//evil.example", "", "/"},
		{"https://evil.example/x", "", "/"},
		{"https://evil.example/x", "https://app.example", "https://app.example/"},
		{"https://app.example/x?y=1", "https://app.example", "https://app.example/x?y=1"},
		{"HTTPS://APP.example/x", "https://app.example", "https://app.example/x"},
		{"http://app.example/x", "https://app.example", "https://app.example/"},
		{"https://app.example.evil.example/x", "https://app.example", "https://app.example/"},
		{"https://app.example@evil.example/x", "https://app.example", "https://app.example/"},
		{"/x\r\nSet-Cookie: a=b", "", "/"},
		{"/\\evil.example", "", "/"},
		{"javascript:alert(1)", "", "/"},
		{"/next", "https://app.example/base", "https://app.example/base/next"},
	} {
		g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = tc.app })
		if got := g.SafeReturnTo(tc.raw); got != tc.want {
			t.Errorf("SafeReturnTo(%q, app %q) = %q, want %q", tc.raw, tc.app, got, tc.want)
		}
	}
}

// TestReturnToStaysInAppPrefix: with an AppURL path prefix, return_to
// never resolves outside it: "/../other" must not become
// https://example.com/app/../other, which browsers and Kratos resolve to
// https://example.com/other, and SafeReturnTo must not keep absolute
// same-origin URLs outside the prefix.
func TestReturnToStaysInAppPrefix(t *testing.T) {
	g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = "https://example.com/app" })
	const root = "https://example.com/app/"
	for _, tc := range []struct{ target, want string }{
		{"/../other", root},
		{"/%2e%2e/other", root},
		{"/%2E%2E/other", root},
		{"/a/.%2e/../b", root},
		{"/./x", root},
		{"/a/b?x=../y", "https://example.com/app/a/b?x=../y"},
		{"/a..b/c", "https://example.com/app/a..b/c"},
		{"/settings", "https://example.com/app/settings"},
	} {
		if got := g.ReturnTo(&core.Request{URI: tc.target}); got != tc.want {
			t.Errorf("ReturnTo(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
	for _, tc := range []struct{ raw, want string }{
		{"https://example.com/other", root},
		{"https://example.com/application", root},
		{"https://example.com/", root},
		{"https://example.com/app/../other", root},
		{"https://example.com/app/%2e%2e/other", root},
		{"/../other", root},
		{"https://example.com/app", "https://example.com/app"},
		{"https://example.com/app/settings?tab=2", "https://example.com/app/settings?tab=2"},
	} {
		if got := g.SafeReturnTo(tc.raw); got != tc.want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// TestHostileReturnTo: whatever the request target and whatever Host,
// X-Forwarded-Host or similar headers say, return_to leads back to the app.
func TestHostileReturnTo(t *testing.T) {
	targets := []string{
		"//evil.example", "//evil.example/path?x=1", "///evil.example",
		`/\evil.example`, `/\/evil.example`, `\\evil.example`,
		"/%2F%2Fevil.example", "/%2f%2fevil.example", "/%2Fevil.example", "/%5Cevil.example", "/%5c%5cevil.example",
		"/%09/evil.example", "/%0D%0A/evil.example", "/%00/evil.example",
		"/@evil.example", "/x@evil.example", "//user@evil.example", "//user:pass@evil.example/",
		"http://evil.example/", "https://evil.example", "http://user@evil.example/x", "HTTP://EVIL.EXAMPLE/",
		"/x\r\nLocation: http://evil.example", "/x\nSet-Cookie: a=b", "/x\rY", "/\t/evil.example",
		"/x?\r\nLocation:%20http://evil.example",
		"javascript:alert(1)", "data:text/html,<script>", "*", "", "?x=1", "evil.example",
		"/" + strings.Repeat("a", 1<<16), "/x?" + strings.Repeat("q=1&", 1<<14),
		"/caf\u00e9?q=\u00e9", "/\xff\xfe", "/ok?next=//evil.example#frag",
	}
	for _, app := range []string{"", "https://app.example", "https://app.example/base"} {
		g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = app })
		for _, target := range targets {
			{
				r := httpRequest(target)
				for k, v := range map[string]string{
					"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "javascript",
					"Forwarded": "host=evil.example;proto=https", "X-Original-URL": "//evil.example",
					"X-Rewrite-URL": "//evil.example", "X-Forwarded-Prefix": "//evil.example",
				} {
					r.Header.Set(k, v)
				}
				r.Host = "evil.example"
				req := core.RequestFromHTTP(r)
				req.Accept = "text/html"
				d := g.Route().Authenticate(context.Background(), &req)
				if d.Status != http.StatusSeeOther {
					t.Fatalf("%q: %d", target, d.Status)
				}
				loc := d.Header.Get("Location")
				if !strings.HasPrefix(loc, "https://ory.example/self-service/login/browser?") || strings.ContainsAny(loc, "\r\n") {
					t.Fatalf("%q: Location %q", target, loc)
				}
				rt := returnToOf(t, loc)
				if !sameOrigin(rt, app) {
					t.Errorf("AppURL %q, target %q: return_to %q leaves the app", app, target, rt)
				}
				u, err := url.Parse(rt)
				if err != nil || u.User != nil || (u.Host != "" && u.Host != "app.example") || len(u.Path) > 1 && (u.Path[1] == '/' || u.Path[1] == '\\') {
					t.Errorf("AppURL %q, target %q: return_to %q (parsed %+v)", app, target, rt, u)
				}
			}
		}
	}
}

// httpRequest builds a server-side request with the raw target, the way
// net/http hands it to a handler.
func httpRequest(target string) *http.Request {
	r := &http.Request{Method: http.MethodGet, RequestURI: target, Header: http.Header{}, URL: &url.URL{Path: "/"}}
	if u, err := url.ParseRequestURI(target); err == nil {
		r.URL = u
	}
	return r
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
