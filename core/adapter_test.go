package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

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
