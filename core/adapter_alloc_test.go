//go:build !race

package core_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestRequestWithDecisionAllocatesOnce: the request copy and the context
// value are one allocation (the race detector adds its own, hence the
// build tag).
func TestRequestWithDecisionAllocatesOnce(t *testing.T) {
	r, err := http.NewRequest(http.MethodGet, "http://app.example/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := core.Decision{Allow: true, Session: &client.Session{Id: "s1"}}
	var sink *http.Request
	if n := testing.AllocsPerRun(100, func() { sink = core.RequestWithDecision(r, d) }); n != 1 {
		t.Errorf("%v allocations, want 1", n)
	}
	_ = sink
}

// TestCacheHitKeepsTheRequestOnTheStack: an adapter's Request, read with
// RequestFromHTTP and passed to Authenticate, costs no allocation on a
// cache hit. Authenticate must not let its *Request escape (handing it to
// a function value would): every adapter would pay one heap Request per
// request.
func TestCacheHitKeepsTheRequestOnTheStack(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("live", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Hour} })
	hr, err := http.NewRequest(http.MethodGet, "http://app.example/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Cookie", "ory_kratos_session=live")
	for name, rt := range map[string]*core.Route{
		"required":       g.Route(),
		"optional route": g.Route(core.Optional()),
	} {
		warm := core.RequestFromHTTP(hr)
		if d := rt.Authenticate(context.Background(), &warm); !d.Allow {
			t.Fatalf("%s: denied: %d", name, d.Status)
		}
		if n := testing.AllocsPerRun(100, func() {
			req := core.RequestFromHTTP(hr)
			_ = rt.Authenticate(context.Background(), &req)
		}); n != 0 {
			t.Errorf("%s: %v allocations per cache hit, want 0", name, n)
		}
	}
}
