package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// manyCookies returns n unrelated cookies in one header value.
func manyCookies(n int, valueLen int) string {
	var b strings.Builder
	v := strings.Repeat("v", valueLen)
	for i := range n {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("app_cookie_")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("=")
		b.WriteString(v)
	}
	return b.String()
}

// TestHostileCredentials: cookies and credential headers that cannot carry a
// valid Ory session get the plain unauthenticated answer (303 to login for
// a browser, 401 for an API client), never a panic, and Ory is not asked.
func TestHostileCredentials(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, logs := newGuard(t, ory.URL, nil)
	long := strings.Repeat("a", core.MaxCredentialLength+1)
	const ck = "ory_kratos_session="
	for _, tc := range []struct {
		name string
		req  *core.Request
	}{
		{"500 unrelated cookies", browser("/", manyCookies(500, 20))},
		{"100 Cookie headers, no session cookie", &core.Request{URI: "/", Cookies: strings.Split(strings.Repeat("a=b\n", 100), "\n")[:100]}},
		{"1 MiB of unrelated cookies", browser("/", manyCookies(64, 16<<10))},
		{"session cookie over 4096 bytes", browser("/", ck+long)},
		{"session cookie of 1 MiB", browser("/", ck+strings.Repeat("b", 1<<20))},
		{"empty session cookie", browser("/", ck)},
		{"quoted empty session cookie", browser("/", ck+`""`)},
		{"session cookie with invalid UTF-8", browser("/", ck+"abc\xff\xfe")},
		{"session cookie with UTF-8", browser("/", ck+"caf\u00e9")},
		{"session cookie with NUL", browser("/", ck+"a\x00b")},
		{"session cookie with CR LF", browser("/", ck+"a\r\nX-Injected: 1")},
		{"session cookie with a space", browser("/", ck+"a b")},
		{"session cookie with a comma", browser("/", ck+"a,b")},
		{"session cookie with a backslash", browser("/", ck+`a\b`)},
		{"session cookie with an inner quote", browser("/", ck+`a"b`)},
		{"the bare Ory Network prefix is no session cookie", browser("/", "ory_session_=value")},
		{"session cookie name in another case", browser("/", "ORY_KRATOS_SESSION=value")},
		{"X-Session-Token over 4096 bytes", &core.Request{URI: "/", SessionToken: long}},
		{"X-Session-Token of blanks", &core.Request{URI: "/", SessionToken: "   \t "}},
		{"X-Session-Token with a space inside", &core.Request{URI: "/", SessionToken: "ory_st_a b"}},
		{"X-Session-Token with NUL", &core.Request{URI: "/", SessionToken: "ory_st_\x00"}},
		{"X-Session-Token with invalid UTF-8", &core.Request{URI: "/", SessionToken: "ory_st_\xff"}},
		{"X-Session-Token with UTF-8", &core.Request{URI: "/", SessionToken: "ory_st_\u00e9"}},
		{"bad X-Session-Token hides a good cookie (Kratos' order)", &core.Request{URI: "/", SessionToken: "bad token", Cookies: []string{ck + "good"}}},
		{"Bearer over 4096 bytes", &core.Request{URI: "/", Authorization: "Bearer " + long}},
		{"Bearer with nothing", &core.Request{URI: "/", Authorization: "Bearer    "}},
		{"Bearer with two words", &core.Request{URI: "/", Authorization: "Bearer a b"}},
		{"Bearer with invalid UTF-8", &core.Request{URI: "/", Authorization: "Bearer \xc3\x28"}},
		{"Basic credentials", &core.Request{URI: "/", Authorization: "Basic b3J5OnNlc3Npb24="}},
		{"Bearer separated by a tab", &core.Request{URI: "/", Authorization: "Bearer\ttoken"}},
		{"session cookie name with a space", browser("/", "ory_session_a b=value")},
		{"session cookie name with a control byte", browser("/", "ory_session_a\x01b=value")},
		{"session cookie name with a separator", browser("/", "ory_session_a(b)=value")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ory.Calls()
			logs.Reset()
			for _, api := range []bool{false, true} {
				req := *tc.req
				req.Accept = "text/html"
				if api {
					req.Accept = "application/json"
				}
				d := g.Route().Authenticate(context.Background(), &req)
				if d.Allow {
					t.Fatal("allowed")
				}
				isAPI := api || req.SessionToken != "" || strings.HasPrefix(strings.ToLower(req.Authorization), "bearer ")
				if isAPI && d.Status != http.StatusUnauthorized || !isAPI && d.Status != http.StatusSeeOther {
					t.Fatalf("api=%v: status %d, want the unauthenticated answer (body %s)", api, d.Status, d.Body)
				}
				if d.Status == http.StatusSeeOther {
					loginLocation(t, ory.URL, d)
				}
			}
			if n := ory.Calls() - before; n != 0 {
				t.Fatalf("Ory was asked %d times about a credential that cannot be valid", n)
			}
			if logs.Len() != 0 {
				t.Fatalf("logged: %s", logs.String())
			}
		})
	}
}

// TestHostileCredentialsNextToAGoodOne: noise around a valid session
// cookie does not hide it, and only session cookies reach Ory: every
// well-formed one, in order (Kratos uses the first it can decode).
func TestHostileCredentialsNextToAGoodOne(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	const ck = "ory_kratos_session="
	for _, tc := range []struct {
		name    string
		cookies []string
		sent    string // the Cookie header Ory receives
	}{
		{"after 500 cookies", []string{manyCookies(500, 20) + "; " + ck + "good"}, ck + "good"},
		{"in the 100th Cookie header", append(strings.Split(strings.Repeat("a=b\n", 99), "\n")[:99], ck+"good"), ck + "good"},
		{"after 1 MiB of cookies", []string{manyCookies(64, 16<<10), ck + "good"}, ck + "good"},
		{"before a stale duplicate (both sent, Kratos chooses)", []string{ck + "good; " + ck + "stale"}, ck + "good; " + ck + "stale"},
		{"after a stale duplicate (both sent, Kratos chooses)", []string{ck + "stale", ck + "good"}, ck + "stale; " + ck + "good"},
		{"after a malformed duplicate (dropped, as Go's parser does)", []string{ck + "bad\\value; " + ck + "good"}, ck + "good"},
		{"identical duplicates (sent once)", []string{ck + "good", ck + "good"}, ck + "good"},
		{"quoted", []string{ck + `"good"`}, ck + "good"},
		{"with blanks around", []string{" \t" + ck + "good \t; x=y"}, ck + "good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory.Reset()
			d := g.Route().Authenticate(context.Background(), &core.Request{URI: "/", Accept: "text/html", Cookies: tc.cookies})
			if !d.Allow || d.Session.Id != "s1" {
				t.Fatalf("denied: %d %s", d.Status, d.Body)
			}
			rec := ory.Requests()
			if len(rec) != 1 || rec[0].Cookie != tc.sent || rec[0].SessionToken != "" || rec[0].Authorization != "" {
				t.Fatalf("Ory received %+v, want Cookie %q", rec, tc.sent)
			}
		})
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

// TestOversizedOryAnswer: a whoami answer larger than the guard reads
// (4 MiB) fails closed with 502 instead of being buffered whole.
func TestOversizedOryAnswer(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	s := orytest.ActiveSession("big", "big@example.com")
	s.Identity.Traits = map[string]any{"email": "big@example.com", "blob": strings.Repeat("x", 5<<20)}
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	ory.Session("big", s)
	// Moving 5 MiB through a -race build on a loaded machine can take longer
	// than newGuard's 300 ms; this test is about the size limit, not time.
	g, logs := newGuard(t, ory.URL, func(c *core.Config) { c.Timeout = 20 * time.Second })
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=big"))
	if d.Allow || d.Status != http.StatusBadGateway || d.Header.Get("Location") != "" {
		t.Fatalf("a %d-byte answer: allow=%v status=%d", len(body), d.Allow, d.Status)
	}
	if !bytes.Contains(logs.Bytes(), []byte("too large")) {
		t.Fatalf("log does not say why: %s", logs.String())
	}
	// Just under the limit is read and used.
	s.Identity.Traits = map[string]any{"email": "big@example.com", "blob": strings.Repeat("x", 3<<20)}
	ory.Session("big", s)
	if d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=big")); !d.Allow {
		t.Fatalf("a 3 MiB answer: %d", d.Status)
	}
}
