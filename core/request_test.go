package core_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// rawHeader is a RawHeader over an http.Header, as fasthttp's would be. It
// counts the header reads by name.
type rawHeader struct {
	method, uri string
	h           http.Header
	reads       map[string]int
}

func newRawHeader(method, uri string, h http.Header) *rawHeader {
	return &rawHeader{method: method, uri: uri, h: h, reads: map[string]int{}}
}

func (r *rawHeader) Method() []byte { return []byte(r.method) }

func (r *rawHeader) RequestURI() []byte { return []byte(r.uri) }

func (r *rawHeader) Peek(k string) []byte {
	r.reads[k]++
	if v := r.h.Values(k); len(v) > 0 {
		return []byte(v[0])
	}
	return nil
}

func (r *rawHeader) PeekAll(k string) [][]byte {
	r.reads[k]++
	var out [][]byte
	for _, v := range r.h.Values(k) {
		out = append(out, []byte(v))
	}
	return out
}

// TestLazyReadsAnswerAsFilledFields: the same headers, read lazily through
// RequestFromRaw or RequestFromHTTP, or filled into every Request field up
// front with Header.Get (as an adapter may), get the same answer from every
// entry point that reads a Request.
func TestLazyReadsAnswerAsFilledFields(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("live", orytest.ActiveSession("s1", "a@example.com"))
	ory.Session("ory_st_live", orytest.ActiveSession("s2", "b@example.com"))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = "https://app.example" })
	routes := map[string]*core.Route{"required": g.Route(), "aal2": g.Route(core.RequireAAL2()), "optional": g.Route(core.Optional())}
	for _, h := range []http.Header{
		{},
		{"Accept": {"application/json"}, "Content-Type": {"text/plain"}, "X-Session-Token": {"ory_st_x"}, "Authorization": {"Bearer y"}},
		{"Authorization": {"Bearer ory_st_live"}},
		{"X-Session-Token": {"ory_st_live"}, "Cookie": {"ory_kratos_session=live"}},
		{"Cookie": {"a=1", "ory_kratos_session=z"}, "Accept": {"text/html", "ignored"}},
		{"Cookie": {"a=1; ory_kratos_session=live"}, "Accept": {"application/json"}},
		{"Cookie": {"ory_kratos_session=live"}, "Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}},
		{"Cookie": {"ory_kratos_session=live"}, "Origin": {"https://app.example"}},
		{"Cookie": {"ory_kratos_session=live"}, "Sec-Fetch-Mode": {"cors"}, "Sec-Fetch-Dest": {"empty"}, "Accept": {"text/html"}},
		{"Content-Type": {"application/json; charset=utf-8"}},
		// Set by hand under keys that are not canonical: Header.Get does
		// not find them, and neither may the lazy reads.
		{"accept": {"application/json"}, "x-session-token": {"lower"}, "AUTHORIZATION": {"Bearer z"}, "origin": {"https://evil.example"}},
	} {
		r, _ := http.NewRequest(http.MethodPost, "https://app.example/p?q=1&return_to=/next", nil)
		r.RequestURI = "/p?q=1&return_to=/next"
		r.Header = h
		r.Host = "app.example"
		filled := core.Request{Method: r.Method, URI: r.RequestURI, Host: r.Host,
			Accept: h.Get("Accept"), ContentType: h.Get("Content-Type"), SessionToken: h.Get("X-Session-Token"),
			Authorization: h.Get("Authorization"), Cookies: h.Values("Cookie"), SecFetchSite: h.Get("Sec-Fetch-Site"),
			SecFetchMode: h.Get("Sec-Fetch-Mode"), SecFetchDest: h.Get("Sec-Fetch-Dest"), Origin: h.Get("Origin")}
		for _, lazy := range []struct {
			name string
			req  core.Request
		}{
			{"RequestFromHTTP", core.RequestFromHTTP(r)},
			{"RequestFromRaw", core.RequestFromRaw(newRawHeader(http.MethodPost, r.RequestURI, h), []byte("app.example"))},
		} {
			got, want := lazy.req, filled
			for name, rt := range routes {
				if a, b := answer(rt.Authenticate(context.Background(), &got)), answer(rt.Authenticate(context.Background(), &want)); a != b {
					t.Errorf("header %v, %s route: %s gets %s, filled fields %s", h, name, lazy.name, a, b)
				}
			}
			if a, b := answer(g.RefreshRedirect(&got)), answer(g.RefreshRedirect(&want)); a != b {
				t.Errorf("header %v, refresh: %s gets %s, filled fields %s", h, lazy.name, a, b)
			}
			if a, b := g.ReturnTo(&got), g.ReturnTo(&want); a != b {
				t.Errorf("header %v, ReturnTo: %s gets %s, filled fields %s", h, lazy.name, a, b)
			}
			// Logout last: it ends the session in the cache (the fake Ory keeps it).
			if a, b := answer(g.LogoutRedirect(context.Background(), &got)), answer(g.LogoutRedirect(context.Background(), &want)); a != b {
				t.Errorf("header %v, logout: %s gets %s, filled fields %s", h, lazy.name, a, b)
			}
		}
	}
}

// TestRequestFromRawHitReadsOnlyTheCredential: on a cache hit the guard
// reads X-Session-Token and the Cookie headers, once each, and no other
// header; a denial reads what it needs to answer.
func TestRequestFromRawHitReadsOnlyTheCredential(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("live", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache.TTL = time.Minute })
	rt := g.Route()
	h := http.Header{
		"Cookie":         {"a=1; ory_kratos_session=live"},
		"Accept":         {"text/html"},
		"Content-Type":   {"text/plain"},
		"Authorization":  {"Basic eA=="},
		"Sec-Fetch-Site": {"same-origin"},
		"Origin":         {"https://app.example"},
	}
	for i := range 2 { // a miss, then a hit
		raw := newRawHeader(http.MethodGet, "/", h)
		req := core.RequestFromRaw(raw, []byte("app.example"))
		if d := rt.Authenticate(context.Background(), &req); !d.Allow {
			t.Fatalf("request %d denied: %d", i, d.Status)
		}
		if want := map[string]int{"X-Session-Token": 1, "Cookie": 1}; !maps.Equal(raw.reads, want) {
			t.Errorf("request %d read %v, want %v", i, raw.reads, want)
		}
	}
	raw := newRawHeader(http.MethodGet, "/", http.Header{"Accept": {"application/json"}})
	req := core.RequestFromRaw(raw, []byte("app.example"))
	if d := rt.Authenticate(context.Background(), &req); d.Allow || d.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous API client: allow=%v status %d, want 401", d.Allow, d.Status)
	}
	if raw.reads["Accept"] == 0 {
		t.Errorf("a denial did not read Accept (reads %v)", raw.reads)
	}
}

// TestRequestFromHTTPReadsLikeHeaderGet: the fields RequestFromHTTP fills
// up front (the credential, method, target and host) are what Header.Get
// gives, also for headers set under non-canonical keys by hand (which
// Header.Get does not find either); the other headers are left to the lazy
// reads that TestLazyReadsAnswerAsFilledFields checks.
func TestRequestFromHTTPReadsLikeHeaderGet(t *testing.T) {
	for _, h := range []http.Header{
		{},
		{"Accept": {"text/html", "application/json"}, "X-Session-Token": {"ory_st_x"}, "Authorization": {"Bearer y"}, "Cookie": {"a=1", "b=2"}},
		{"accept": {"application/json"}, "x-session-token": {"lower"}, "AUTHORIZATION": {"Bearer z"}, "cookie": {"a=1"}},
		{"Accept": {}, "X-Session-Token": {""}},
	} {
		r, err := http.NewRequest(http.MethodGet, "http://app.example/p?q=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header = h
		got := core.RequestFromHTTP(r)
		if got.Method != http.MethodGet || got.URI != "/p?q=1" || got.Host != "app.example" ||
			got.SessionToken != h.Get("X-Session-Token") || got.Authorization != h.Get("Authorization") ||
			!slices.Equal(got.Cookies, h.Values("Cookie")) {
			t.Errorf("header %v: got %+v", h, got)
		}
	}
}
