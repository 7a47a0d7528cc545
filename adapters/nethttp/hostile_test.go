package oryhttp_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// hostileApp serves the middleware on a real net/http server, directly
// (so the guard sees the raw request target) or behind an http.ServeMux.
type hostileApp struct {
	ory     *orytest.Server
	srv     *httptest.Server
	handled atomic.Int64
}

func newHostileApp(t *testing.T, appURL string, mux bool) *hostileApp {
	t.Helper()
	a := &hostileApp{ory: orytest.NewServer()}
	t.Cleanup(a.ory.Close)
	a.ory.Session("good", orytest.ActiveSession("s-good", "good@example.com"))
	g, err := core.New(core.Config{OryURL: a.ory.URL, AppURL: appURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := oryhttp.Middleware(g)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.handled.Add(1)
		s, _ := oryhttp.Session(r.Context())
		_, _ = io.WriteString(w, "session "+s.Id)
	}))
	if mux {
		m := http.NewServeMux()
		m.Handle("/", h)
		h = m
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return a
}

// raw sends a request exactly as written and reads the answer.
func (a *hostileApp) raw(t *testing.T, request string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", a.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func get(target string, headers ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\n")
	hasHost := false
	for _, h := range headers {
		if strings.HasPrefix(strings.ToLower(h), "host:") {
			hasHost = true
		}
		b.WriteString(h + "\r\n")
	}
	if !hasHost {
		b.WriteString("Host: app.example\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// returnTo checks that resp is the login redirect to Ory and returns its
// return_to.
func (a *hostileApp) returnTo(t *testing.T, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", resp.StatusCode)
	}
	if n := len(resp.Header.Values("Location")); n != 1 {
		t.Fatalf("%d Location headers", n)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != a.ory.URL+"/self-service/login/browser" {
		t.Fatalf("Location %q is not Ory's login flow", resp.Header.Get("Location"))
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("Set-Cookie on a denial: %v", resp.Header.Values("Set-Cookie"))
	}
	return loc.Query().Get("return_to")
}

// onApp reports whether a return_to value can only lead to the app.
func onApp(rt, appURL string) bool {
	if strings.ContainsAny(rt, "\r\n\t\\\x00") {
		return false
	}
	u, err := url.Parse(rt)
	if err != nil || u.User != nil || len(u.Path) > 1 && (u.Path[1] == '/' || u.Path[1] == '\\') {
		return false
	}
	if appURL == "" {
		return strings.HasPrefix(rt, "/") && !strings.HasPrefix(rt, "//") && u.Host == "" && u.Scheme == ""
	}
	return strings.HasPrefix(rt, appURL+"/")
}

// TestSpoofedHostHeaders: return_to comes from the request target and
// Config.AppURL only, never from Host, X-Forwarded-Host, Forwarded or
// similar headers, whatever the target.
func TestSpoofedHostHeaders(t *testing.T) {
	spoof := []string{
		"Host: evil.example", "X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https",
		"X-Forwarded-Port: 443", "Forwarded: for=1.2.3.4;host=evil.example;proto=https",
		"X-Original-URL: //evil.example/x", "X-Rewrite-URL: //evil.example/x", "X-Forwarded-Prefix: //evil.example",
		"X-Host: evil.example", "X-Original-Host: evil.example",
	}
	cases := []struct{ target, wantRel string }{
		{"/dash?x=1", "/dash?x=1"},
		{"//evil.example/x", "/"},
		{"///evil.example", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"/%5C%5Cevil.example", "/"},
		{"http://evil.example/dash?x=1", "/dash?x=1"},
		{"http://user:pass@evil.example/dash", "/dash"},
		{"/@evil.example", "/@evil.example"},
		{"/x%0D%0ALocation:%20http://evil.example", "/x%0D%0ALocation:%20http://evil.example"},
		{"/x?%0D%0ASet-Cookie:%20a=b", "/x?%0D%0ASet-Cookie:%20a=b"},
		{"/ok?next=//evil.example", "/ok?next=//evil.example"},
	}
	for _, appURL := range []string{"", "https://app.example"} {
		a := newHostileApp(t, appURL, false)
		for _, tc := range cases {
			resp := a.raw(t, get(tc.target, spoof...))
			rt := a.returnTo(t, resp)
			want := appURL + tc.wantRel
			if rt != want || !onApp(rt, appURL) {
				t.Errorf("AppURL %q, target %q: return_to %q, want %q", appURL, tc.target, rt, want)
			}
		}
		if a.handled.Load() != 0 || a.ory.Calls() != 0 {
			t.Fatalf("handler ran %d times, Ory asked %d times", a.handled.Load(), a.ory.Calls())
		}
	}
}

// TestRawTargetsNetHTTPRefuses: targets with a backslash, a raw tab or bytes
// net/http does not accept never reach the guard; with a ServeMux in front,
// path cleaning answers with a same-host redirect at most.
func TestRawTargetsBehindServeMux(t *testing.T) {
	for _, mux := range []bool{false, true} {
		a := newHostileApp(t, "", mux)
		for _, target := range []string{`/\evil.example`, "//evil.example", "/./evil.example", "/../evil.example", "/\tx", "/\x00", "/\xff"} {
			resp := a.raw(t, get(target, "Host: evil.example", "X-Forwarded-Host: evil.example"))
			loc := resp.Header.Get("Location")
			t.Logf("mux=%v target %q: %d Location %q", mux, target, resp.StatusCode, loc)
			switch resp.StatusCode {
			case http.StatusSeeOther:
				if rt := a.returnTo(t, resp); !onApp(rt, "") {
					t.Errorf("mux=%v, target %q: return_to %q", mux, target, rt)
				}
			case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
				// ServeMux cleaning the path: the redirect must stay on the host.
				u, err := url.Parse(loc)
				if err != nil || u.Host != "" || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) {
					t.Errorf("mux=%v, target %q: redirected to %q", mux, target, loc)
				}
			case http.StatusBadRequest:
			default:
				t.Errorf("mux=%v, target %q: %d Location %q", mux, target, resp.StatusCode, loc)
			}
		}
		if a.handled.Load() != 0 || a.ory.Calls() != 0 {
			t.Fatalf("mux=%v: handler ran %d times, Ory asked %d times", mux, a.handled.Load(), a.ory.Calls())
		}
	}
}

// TestHostileHeaders sends oversized and malformed cookies and credential
// headers through a real server: each gets a clear unauthenticated answer
// (303 for a browser, 401 for an API client) or net/http's own 4xx for a
// request it will not parse; the handler never runs and Ory is never asked.
func TestHostileHeaders(t *testing.T) {
	a := newHostileApp(t, "", false)
	many := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "c" + strings.Repeat("x", i%10) + string(rune('a'+i%26)) + "=value"
		}
		return strings.Join(parts, "; ")
	}
	manyHeaders := func(n int, h string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = h
		}
		return out
	}
	const ck = "Cookie: ory_kratos_session="
	cases := []struct {
		name    string
		headers []string
		want    []int
	}{
		{"300 cookies", []string{"Cookie: " + many(300)}, []int{303}},
		{"300 Cookie headers", manyHeaders(300, "Cookie: theme=dark"), []int{303}},
		{"64 KiB session cookie", []string{ck + strings.Repeat("a", 64<<10)}, []int{303}},
		{"4097-byte session cookie", []string{ck + strings.Repeat("a", core.MaxCredentialLength+1)}, []int{303}},
		{"2 MiB of headers", []string{"Cookie: big=" + strings.Repeat("a", 2<<20)}, []int{431}},
		{"invalid UTF-8 in the session cookie", []string{ck + "abc\xff\xfe"}, []int{303, 400}},
		{"UTF-8 in the session cookie", []string{ck + "caf\u00e9"}, []int{303}},
		{"NUL in the session cookie", []string{ck + "a\x00b"}, []int{303, 400}},
		{"control byte in the session cookie name", []string{"Cookie: ory_session_a\x01b=value"}, []int{303, 400}},
		{"space in the session cookie name", []string{"Cookie: ory_session_a b=value"}, []int{303}},
		{"separator in the session cookie name", []string{"Cookie: ory_session_a/b=value"}, []int{303}},
		{"empty session cookie", []string{ck}, []int{303}},
		{"obs-fold continuation", []string{ck + "abc", " continued"}, []int{303, 400}},
		{"huge X-Session-Token", []string{"X-Session-Token: " + strings.Repeat("t", 64<<10)}, []int{401}},
		{"X-Session-Token with invalid UTF-8", []string{"X-Session-Token: tok\xff"}, []int{401, 400}},
		{"X-Session-Token with a space", []string{"X-Session-Token: a b"}, []int{401}},
		{"two X-Session-Token headers, first blank", []string{"X-Session-Token: ", "X-Session-Token: good"}, []int{303, 401}},
		{"huge Bearer token", []string{"Authorization: Bearer " + strings.Repeat("t", 64<<10)}, []int{401}},
		{"Bearer with invalid UTF-8", []string{"Authorization: Bearer \xc3\x28"}, []int{401, 400}},
		{"Basic credentials", []string{"Authorization: Basic Z29vZDpnb29k"}, []int{303}},
		{"header name with a space", []string{"Cookie : ory_kratos_session=good"}, []int{400}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, handled := a.ory.Calls(), a.handled.Load()
			resp := a.raw(t, get("/private", append([]string{"Accept: text/html"}, tc.headers...)...))
			ok := false
			for _, w := range tc.want {
				ok = ok || resp.StatusCode == w
			}
			if !ok {
				t.Fatalf("status %d, want one of %v", resp.StatusCode, tc.want)
			}
			t.Logf("%d", resp.StatusCode)
			if resp.StatusCode == http.StatusSeeOther {
				if rt := a.returnTo(t, resp); rt != "/private" {
					t.Fatalf("return_to %q", rt)
				}
			}
			if a.handled.Load() != handled {
				t.Fatal("the protected handler ran")
			}
			if n := a.ory.Calls() - before; n != 0 {
				t.Fatalf("Ory was asked %d times", n)
			}
		})
	}
}

// TestGoodSessionAmongNoise: a valid session cookie among hundreds of
// others, or in a duplicate pair, still passes, and Ory receives session
// cookies alone: every well-formed one, in order.
func TestGoodSessionAmongNoise(t *testing.T) {
	a := newHostileApp(t, "", false)
	noise := make([]string, 300)
	for i := range noise {
		noise[i] = "n" + strings.Repeat("x", i%9) + string(rune('a'+i%26)) + "=" + strings.Repeat("v", 100)
	}
	const ck = "ory_kratos_session="
	for _, tc := range []struct {
		headers []string
		sent    string // the Cookie header Ory receives
	}{
		{[]string{"Cookie: " + strings.Join(noise, "; ") + "; " + ck + "good"}, ck + "good"},
		{[]string{"Cookie: " + ck + "good; " + ck + "stale-duplicate"}, ck + "good; " + ck + "stale-duplicate"},
		{[]string{"Cookie: " + ck + `bad\value; ` + ck + "good"}, ck + "good"},
		{[]string{"Cookie: a=1", "Cookie: " + ck + "good", "Cookie: " + ck + "later"}, ck + "good; " + ck + "later"},
	} {
		a.ory.Reset()
		resp := a.raw(t, get("/private", tc.headers...))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if rec := a.ory.Requests(); len(rec) != 1 || rec[0].Cookie != tc.sent {
			t.Fatalf("Ory received %+v, want Cookie %q", rec, tc.sent)
		}
	}
}
