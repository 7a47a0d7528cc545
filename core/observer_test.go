package core_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// recorder is an Observer that records what the guard reports.
type recorder struct {
	core.NopObserver
	mu        sync.Mutex
	guards    []*core.Guard
	decisions []core.Outcome
	cache     []core.CacheResult
	starts    []core.WhoamiRequest
	calls     []core.WhoamiCall
	refused   int
	inject    http.Header
}

type ctxKey struct{}

func (r *recorder) Attach(g *core.Guard) { r.mu.Lock(); r.guards = append(r.guards, g); r.mu.Unlock() }
func (r *recorder) Decision(_ context.Context, o core.Outcome) {
	r.mu.Lock()
	r.decisions = append(r.decisions, o)
	r.mu.Unlock()
}

func (r *recorder) CacheLookup(_ context.Context, c core.CacheResult) {
	r.mu.Lock()
	r.cache = append(r.cache, c)
	r.mu.Unlock()
}
func (r *recorder) LookupRefused(context.Context) { r.mu.Lock(); r.refused++; r.mu.Unlock() }
func (r *recorder) WhoamiStart(ctx context.Context, w core.WhoamiRequest) context.Context {
	r.mu.Lock()
	r.starts = append(r.starts, w)
	r.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, "whoami")
}

func (r *recorder) WhoamiDone(ctx context.Context, w core.WhoamiCall) {
	if ctx.Value(ctxKey{}) != "whoami" {
		panic("WhoamiDone without WhoamiStart's context")
	}
	r.mu.Lock()
	r.calls = append(r.calls, w)
	r.mu.Unlock()
}

func (r *recorder) InjectHeaders(ctx context.Context, h http.Header) {
	if ctx.Value(ctxKey{}) == "whoami" {
		for k, v := range r.inject {
			h[k] = v
		}
	}
}

func TestObserverSeesDecisionsCacheAndWhoami(t *testing.T) {
	hdrs := make(chan http.Header, 8)
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	// A front that records the headers reaching Ory.
	front := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hdrs <- r.Header.Clone()
		return http.DefaultTransport.RoundTrip(r)
	})}
	rec := &recorder{inject: http.Header{
		"Traceparent":     {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"X-Session-Token": {"planted"}, // never copied: a credential header
		"Cookie":          {"planted=1"},
	}}
	g, _ := newGuard(t, ory.URL, func(c *core.Config) {
		c.Observer = rec
		c.HTTPClient = front
		c.Cache = core.CacheConfig{TTL: time.Hour}
	})
	if len(rec.guards) != 1 || rec.guards[0] != g {
		t.Fatalf("Attach called with %v", rec.guards)
	}
	ctx := context.Background()
	req := browser("/", "ory_kratos_session=good")
	for range 2 { // miss, then hit
		if d := g.Route().Authenticate(ctx, req); !d.Allow {
			t.Fatalf("denied: %d", d.Status)
		}
	}
	_ = g.Route().Authenticate(ctx, browser("/", ""))                          // no credential: no cache lookup
	_ = g.Route(core.Optional()).Authenticate(ctx, browser("/", ""))           // anonymous
	_ = g.Route().Authenticate(ctx, apiReq("/", "ory_kratos_session=unknown")) // 401

	wantDecisions := []core.Outcome{core.OutcomeAllowed, core.OutcomeAllowed, core.OutcomeNoSession, core.OutcomeAllowedAnonymous, core.OutcomeNoSession}
	if !slices.Equal(rec.decisions, wantDecisions) {
		t.Errorf("decisions %v, want %v", rec.decisions, wantDecisions)
	}
	if want := []core.CacheResult{core.CacheMiss, core.CacheHit, core.CacheMiss}; !slices.Equal(rec.cache, want) {
		t.Errorf("cache lookups %v, want %v", rec.cache, want)
	}
	if len(rec.starts) != 2 || rec.starts[0] != (core.WhoamiRequest{Method: "GET", URL: ory.URL + "/sessions/whoami"}) {
		t.Errorf("whoami starts %v", rec.starts)
	}
	if len(rec.calls) != 2 || rec.calls[0].Result != core.WhoamiSession || rec.calls[0].Status != 200 ||
		rec.calls[0].SessionID != "s1" || rec.calls[0].IdentityID == "" || rec.calls[0].Duration <= 0 ||
		rec.calls[1].Result != core.WhoamiNoSession || rec.calls[1].Status != 401 || rec.calls[1].SessionID != "" {
		t.Errorf("whoami calls %+v", rec.calls)
	}
	close(hdrs)
	n := 0
	for h := range hdrs {
		n++
		if h.Get("Traceparent") == "" {
			t.Error("injected traceparent did not reach Ory")
		}
		if h.Get("X-Session-Token") != "" || h.Get("Cookie") == "planted=1" || len(h.Values("Cookie")) != 1 {
			t.Errorf("an Observer changed credential headers: %v", h)
		}
	}
	if n != 2 {
		t.Errorf("%d requests reached Ory, want 2", n)
	}
}

func TestObserverStaleAndRefused(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	rec := &recorder{}
	g, _ := newGuard(t, ory.URL, func(c *core.Config) {
		c.Observer = rec
		c.Cache = core.CacheConfig{TTL: 50 * time.Millisecond, StaleIfError: time.Minute}
	})
	req := browser("/", "ory_kratos_session=good")
	_ = g.Route().Authenticate(context.Background(), req)
	if n := g.CacheEntries(); n != 1 {
		t.Errorf("CacheEntries = %d, want 1", n)
	}
	time.Sleep(80 * time.Millisecond)
	_ = g.Route().Authenticate(context.Background(), req)
	if want := []core.CacheResult{core.CacheMiss, core.CacheStale}; !slices.Equal(rec.cache, want) {
		t.Errorf("cache lookups %v, want %v", rec.cache, want)
	}

	// A full lookup limit refuses: reported, and no whoami starts.
	ory.ReplyAll(&orytest.Reply{Hang: true})
	rec2 := &recorder{}
	g2, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Observer = rec2; c.MaxConcurrentLookups = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g2.Route().Authenticate(ctx, browser("/", "ory_kratos_session=a")) }()
	for {
		rec2.mu.Lock()
		started := len(rec2.starts)
		rec2.mu.Unlock()
		if started == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	d := g2.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=b"))
	cancel()
	<-done
	if d.Status != 503 || rec2.refused != 1 || len(rec2.calls) != 1 || rec2.calls[0].Result != core.WhoamiCanceled {
		t.Errorf("status %d, refused %d, calls %+v", d.Status, rec2.refused, rec2.calls)
	}
	if got := rec2.decisions; !slices.Equal(got, []core.Outcome{core.OutcomeBusy, core.OutcomeOryUnavailable}) {
		t.Errorf("decisions %v", got)
	}
}

// With no Observer the hit path allocates no more than with a no-op one.
func TestObserverAddsNoAllocationOnHit(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	allocs := func(o core.Observer) float64 {
		g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Observer = o; c.Cache = core.CacheConfig{TTL: time.Hour} })
		rt, req := g.Route(), browser("/", "ory_kratos_session=good")
		_ = rt.Authenticate(context.Background(), req)
		return testing.AllocsPerRun(200, func() { _ = rt.Authenticate(context.Background(), req) })
	}
	if without, with := allocs(nil), allocs(core.NopObserver{}); with != without {
		t.Fatalf("hit path: %.1f allocs with a no-op Observer, %.1f without", with, without)
	}
}

func TestOutcomeNames(t *testing.T) {
	for o := range core.Outcome(core.NumOutcomes) {
		if o.String() == "unknown" || o.String() == "" {
			t.Errorf("outcome %d has no name", o)
		}
	}
	if core.Outcome(core.NumOutcomes).String() != "unknown" || core.CacheStale.String() != "stale" || core.WhoamiCanceled.String() != "canceled" {
		t.Error("names out of range")
	}
}
