package core_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/oryguard/oryguard/core"
)

// rawHeader is a RawHeader over an http.Header, as fasthttp's would be.
type rawHeader struct {
	method, uri string
	h           http.Header
}

func (r rawHeader) Method() []byte     { return []byte(r.method) }
func (r rawHeader) RequestURI() []byte { return []byte(r.uri) }
func (r rawHeader) Peek(k string) []byte {
	if v := r.h.Values(k); len(v) > 0 {
		return []byte(v[0])
	}
	return nil
}

func (r rawHeader) PeekAll(k string) [][]byte {
	var out [][]byte
	for _, v := range r.h.Values(k) {
		out = append(out, []byte(v))
	}
	return out
}

func TestRequestFromRawMatchesRequestFromHTTP(t *testing.T) {
	for _, h := range []http.Header{
		{},
		{"Accept": {"application/json"}, "Content-Type": {"text/plain"}, "X-Session-Token": {"ory_st_x"}, "Authorization": {"Bearer y"}},
		{"Cookie": {"a=1", "ory_kratos_session=z"}, "Accept": {"text/html", "ignored"}},
		{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}},
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://app.example/p?q=1", nil)
		r.RequestURI = "/p?q=1"
		r.Header = h
		r.Host = "app.example"
		want := core.RequestFromHTTP(r)
		got := core.RequestFromRaw(rawHeader{http.MethodPost, "/p?q=1", h}, []byte("app.example"))
		if got.Method != want.Method || got.URI != want.URI || got.Accept != want.Accept || got.ContentType != want.ContentType ||
			got.SessionToken != want.SessionToken || got.Authorization != want.Authorization || !slices.Equal(got.Cookies, want.Cookies) ||
			got.SecFetchSite != want.SecFetchSite || got.Origin != want.Origin || got.Host != want.Host {
			t.Errorf("header %v: RequestFromRaw = %+v, RequestFromHTTP = %+v", h, got, want)
		}
	}
}

func TestAddHeaderAddsEveryValue(t *testing.T) {
	dst := http.Header{"Set-Cookie": {"a=1"}}
	core.AddHeader(dst, http.Header{"Set-Cookie": {"b=2", "c=3"}, "Location": {"/x"}})
	if got := dst.Values("Set-Cookie"); !slices.Equal(got, []string{"a=1", "b=2", "c=3"}) || dst.Get("Location") != "/x" {
		t.Fatalf("header = %v", dst)
	}
}

func TestAnswer(t *testing.T) {
	g, err := core.New(core.Config{OryURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	d := g.Route().Authenticate(t.Context(), &core.Request{Method: http.MethodGet, URI: "/x", Accept: "application/json"})
	for _, tc := range []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"denial", d.Denial, d.Status, string(d.Body)},
		{"wrapped denial", fmt.Errorf("app: %w", d.Denial), d.Status, string(d.Body)},
		{"other error", errors.New("boom"), http.StatusInternalServerError, "Internal Server Error\n"},
		{"nil", nil, http.StatusInternalServerError, "Internal Server Error\n"},
	} {
		a := core.Answer(tc.err)
		if a.Status != tc.status || string(a.Body) != tc.body || a.Allow {
			t.Errorf("%s: %d %q, want %d %q", tc.name, a.Status, a.Body, tc.status, tc.body)
		}
	}
	if a := core.Answer(errors.New("x")); a.Header.Get("Content-Type") != "text/plain; charset=utf-8" || a.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("500 headers %v", a.Header)
	}
}
