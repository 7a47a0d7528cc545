package core_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

type otherKey struct{}

// TestRequestWithDecision: the copy carries what ContextWithDecision adds,
// keeps the parent's values and cancellation, and leaves r alone.
func TestRequestWithDecision(t *testing.T) {
	s := &client.Session{Id: "s1"}
	denial := &core.Denial{Reason: core.ErrNoSession}
	for _, tc := range []struct {
		name    string
		d       core.Decision
		session bool
		err     error
	}{
		{"session", core.Decision{Allow: true, Session: s}, true, nil},
		{"optional route without a session", core.Decision{Allow: true, Denial: denial}, false, denial},
		{"nothing", core.Decision{Allow: true}, false, core.ErrNoSession},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
			r, err := http.NewRequestWithContext(parent, http.MethodGet, "http://app.example/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			r2 := core.RequestWithDecision(r, tc.d)
			if r2 == r || r2.URL != r.URL || r2.Method != r.Method {
				t.Fatal("not a shallow copy of r")
			}
			if _, ok := core.SessionFromContext(r.Context()); ok {
				t.Error("the original request changed")
			}
			got, ok := core.SessionFromContext(r2.Context())
			if ok != tc.session || (ok && got != s) {
				t.Errorf("SessionFromContext = %v, %v", got, ok)
			}
			if err := core.SessionError(r2.Context()); !errors.Is(err, tc.err) {
				t.Errorf("SessionError = %v, want %v", err, tc.err)
			}
			if v := r2.Context().Value(otherKey{}); v != "v" {
				t.Errorf("parent value = %v", v)
			}
			child, stop := context.WithCancel(r2.Context())
			defer stop()
			cancel()
			<-child.Done() // hangs (and the test times out) if cancellation does not propagate
			if r2.Context().Err() == nil {
				t.Error("the copy's context was not canceled with its parent")
			}
		})
	}
}

// TestRequestFromHTTPReadsLikeHeaderGet: reading the canonical keys from
// the map gives what Header.Get gives, also for headers set under
// non-canonical keys by hand (which Header.Get does not find either).
func TestRequestFromHTTPReadsLikeHeaderGet(t *testing.T) {
	for _, h := range []http.Header{
		{},
		{"Accept": {"text/html", "application/json"}, "Content-Type": {"application/json"}, "X-Session-Token": {"ory_st_x"}, "Authorization": {"Bearer y"}, "Cookie": {"a=1", "b=2"}, "Sec-Fetch-Site": {"same-origin"}, "Origin": {"https://app.example"}},
		{"accept": {"application/json"}, "x-session-token": {"lower"}, "AUTHORIZATION": {"Bearer z"}, "origin": {"https://evil.example"}},
		{"Accept": {}, "X-Session-Token": {""}},
	} {
		r, err := http.NewRequest(http.MethodGet, "http://app.example/p?q=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header = h
		got := core.RequestFromHTTP(r)
		want := core.Request{Method: http.MethodGet, URI: "/p?q=1", Accept: h.Get("Accept"), ContentType: h.Get("Content-Type"),
			SessionToken: h.Get("X-Session-Token"), Authorization: h.Get("Authorization"), Cookies: h.Values("Cookie"),
			SecFetchSite: h.Get("Sec-Fetch-Site"), Origin: h.Get("Origin")}
		if got.Method != want.Method || got.URI != want.URI || got.Accept != want.Accept || got.ContentType != want.ContentType ||
			got.SessionToken != want.SessionToken || got.Authorization != want.Authorization || len(got.Cookies) != len(want.Cookies) ||
			got.SecFetchSite != want.SecFetchSite || got.Origin != want.Origin {
			t.Errorf("header %v: got %+v, want %+v", h, got, want)
		}
	}
}
