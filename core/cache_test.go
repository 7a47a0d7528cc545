package core_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func TestConcurrentRequestsShareOneLookup(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	body := mustJSON(orytest.ActiveSession("s1", "a@example.com"))
	// The delay keeps the first lookup in flight while the others arrive.
	ory.Reply("good", orytest.Reply{Body: body, Delay: 200 * time.Millisecond})
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Timeout = 5 * time.Second })
	const n = 100
	var wg sync.WaitGroup
	allowed := make(chan bool, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Different app cookies, same session cookie: one lookup.
			req := browser("/", "app="+strings.Repeat("x", i)+"; ory_kratos_session=good")
			allowed <- g.Route().Authenticate(context.Background(), req).Allow
		}()
	}
	close(start)
	wg.Wait()
	close(allowed)
	for a := range allowed {
		if !a {
			t.Fatal("a collapsed request was denied")
		}
	}
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls for %d concurrent requests, want 1", c, n)
	}
}

func TestCache(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	ory.Session("tok", orytest.ActiveSession("s2", "b@example.com"))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Minute} })
	rt := g.Route()
	for range 5 {
		if d := rt.Authenticate(context.Background(), browser("/", "a=1; ory_kratos_session=good")); !d.Allow || d.Session.Id != "s1" {
			t.Fatalf("denied: %d", d.Status)
		}
		if d := rt.Authenticate(context.Background(), browser("/", "ory_kratos_session=good; b=2")); !d.Allow {
			t.Fatalf("denied: %d", d.Status)
		}
	}
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls, want 1 (app cookies must not cause misses)", c)
	}
	// A token and the same value as a cookie are different credentials.
	_ = rt.Authenticate(context.Background(), &core.Request{URI: "/", SessionToken: "tok"})
	_ = rt.Authenticate(context.Background(), &core.Request{URI: "/", Authorization: "Bearer tok"})
	if c := ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2 (bearer and X-Session-Token share the token's entry)", c)
	}
	// Route policies still apply to cached sessions.
	if d := g.Route(core.RequireAAL2()).Authenticate(context.Background(), browser("/", "ory_kratos_session=good")); d.Allow {
		t.Fatal("cached aal1 session passed RequireAAL2")
	}
}

func TestCacheNeverOutlivesSession(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	s := orytest.ActiveSession("s1", "a@example.com")
	soon := time.Now().Add(300 * time.Millisecond)
	s.ExpiresAt = &soon
	ory.Session("short", s)
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Hour} })
	if d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=short")); !d.Allow {
		t.Fatalf("denied: %d", d.Status)
	}
	time.Sleep(400 * time.Millisecond)
	// Ory (the fake) still says the session is fine but its expires_at
	// passed: whatever the cache or Ory says, an expired session is denied.
	if d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=short")); d.Allow {
		t.Fatal("a session past its expires_at was let in")
	}
}

func TestDenialsAndErrorsAreNotCached(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Minute} })
	rt := g.Route()
	req := browser("/", "ory_kratos_session=later")
	if d := rt.Authenticate(context.Background(), req); d.Allow {
		t.Fatal("unknown session allowed")
	}
	ory.ReplyAll(&orytest.Reply{Status: 500})
	if d := rt.Authenticate(context.Background(), req); d.Status != 502 {
		t.Fatalf("status %d", d.Status)
	}
	ory.ReplyAll(nil)
	ory.Session("later", orytest.ActiveSession("s1", "a@example.com"))
	if d := rt.Authenticate(context.Background(), req); !d.Allow {
		t.Fatalf("a 401 or 500 was cached: %d", d.Status)
	}
}

func TestRevokedSessionDeniedAfterTTL(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	const ttl = 200 * time.Millisecond
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: ttl} })
	req := browser("/", "ory_kratos_session=good")
	if d := g.Route().Authenticate(context.Background(), req); !d.Allow {
		t.Fatal("denied")
	}
	ory.Reply("good", orytest.Reply{Status: 401, Body: orytest.Unauthorized()}) // revoked
	time.Sleep(ttl + 50*time.Millisecond)
	if d := g.Route().Authenticate(context.Background(), req); d.Allow {
		t.Fatal("revoked session still allowed after the TTL")
	}
}

func TestRateLimitBackoff(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.ReplyAll(&orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"30"}}})
	g, _ := newGuard(t, ory.URL, nil)
	for i := range 10 {
		d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=c"+strings.Repeat("x", i)))
		if d.Status != 429 || d.Header.Get("Retry-After") == "" || d.Header.Get("Location") != "" {
			t.Fatalf("request %d: %d %v", i, d.Status, d.Header)
		}
	}
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls after a 429 with Retry-After: 30, want 1", c)
	}
}

func TestStaleIfError(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, logs := newGuard(t, ory.URL, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: 100 * time.Millisecond, StaleIfError: time.Minute}
	})
	req := browser("/", "ory_kratos_session=good")
	if d := g.Route().Authenticate(context.Background(), req); !d.Allow {
		t.Fatal("denied")
	}
	time.Sleep(150 * time.Millisecond)
	ory.ReplyAll(&orytest.Reply{Status: 503})
	if d := g.Route().Authenticate(context.Background(), req); !d.Allow || d.Session.Id != "s1" {
		t.Fatalf("stale entry not served during an outage: %d", d.Status)
	}
	if !strings.Contains(logs.String(), "stale") {
		t.Fatalf("stale serve not logged: %q", logs.String())
	}
	// A definite answer from Ory (401: revoked) is never overridden.
	ory.ReplyAll(&orytest.Reply{Status: 401, Body: orytest.Unauthorized()})
	if d := g.Route().Authenticate(context.Background(), req); d.Allow {
		t.Fatal("stale entry served although Ory said 401")
	}
	// Without StaleIfError an outage fails closed.
	g2, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: 100 * time.Millisecond} })
	ory.ReplyAll(nil)
	_ = g2.Route().Authenticate(context.Background(), req)
	time.Sleep(150 * time.Millisecond)
	ory.ReplyAll(&orytest.Reply{Status: 503})
	if d := g2.Route().Authenticate(context.Background(), req); d.Allow || d.Status != 502 {
		t.Fatalf("stale served without StaleIfError: %d", d.Status)
	}
}

func TestConcurrentLookupLimit(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.ReplyAll(&orytest.Reply{Delay: 300 * time.Millisecond, Body: mustJSON(orytest.ActiveSession("s", "a@example.com"))})
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.MaxConcurrentLookups = 2; c.Timeout = 5 * time.Second })
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=distinct"+strings.Repeat("x", i)))
			if d.Allow {
				statuses <- 200
				return
			}
			if d.Status == 503 && d.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			statuses <- d.Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 2 || count[503] != 4 {
		t.Fatalf("statuses %v, want 2 allowed and 4 × 503", count)
	}
}

// When the request that is making the shared call gives up, the others
// waiting for it are not failed: one of them asks again.
func TestWaitersOutliveLeader(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("good", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")), Delay: 300 * time.Millisecond})
	g, logs := newGuard(t, ory.URL, func(c *core.Config) { c.Timeout = 5 * time.Second })
	req := browser("/", "ory_kratos_session=good")

	leaderCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	leader := make(chan core.Decision, 1)
	go func() { leader <- g.Route().Authenticate(leaderCtx, req) }()
	time.Sleep(30 * time.Millisecond) // the leader's call is in flight

	var wg sync.WaitGroup
	waiters := make(chan core.Decision, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waiters <- g.Route().Authenticate(context.Background(), req)
		}()
	}
	if d := <-leader; d.Allow || d.Status != 503 {
		t.Fatalf("leader: allow=%v status=%d, want 503 after its context ended", d.Allow, d.Status)
	}
	wg.Wait()
	close(waiters)
	for d := range waiters {
		if !d.Allow || d.Session.Id != "s1" {
			t.Fatalf("a waiter was failed by the leader's cancellation: %d", d.Status)
		}
	}
	if c := ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2 (the aborted one and one retry)", c)
	}
	if strings.Contains(logs.String(), "failed") {
		t.Fatalf("a caller giving up was logged as an Ory failure: %q", logs.String())
	}
}
