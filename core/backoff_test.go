package core

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core/orytest"
)

// fakeClock is a settable clock for Guard.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func clockedGuard(t *testing.T, cfg Config) (*Guard, *fakeClock) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	g.now = clock.now
	return g, clock
}

func tokenRequest(tok string) *Request { return &Request{URI: "/api", SessionToken: tok} }

// TestOne429DoesNotLockEveryoneOut: a burst of junk credentials draws one
// 429 with Retry-After: 60. That must not refuse every uncached user for
// 60 s without asking Ory: while backing off, the guard lets BackoffProbesPerSecond lookups through; the first that Ory
// answers ends the backoff, so a real user gets through within a second
// of Ory answering again. Cache hits are served throughout.
func TestOne429DoesNotLockEveryoneOut(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("cached", orytest.ActiveSession("s0", "c@example.com"))
	ory.Session("user", orytest.ActiveSession("s1", "u@example.com"))
	g, clock := clockedGuard(t, Config{OryURL: ory.URL, Cache: CacheConfig{TTL: time.Hour}})
	rt := g.Route()
	ctx := context.Background()
	if d := rt.Authenticate(ctx, tokenRequest("cached")); !d.Allow {
		t.Fatalf("warm-up: %d", d.Status)
	}

	ory.ReplyAll(&orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"60"}}})
	calls := ory.Calls()
	if d := rt.Authenticate(ctx, tokenRequest("junk-0")); d.Status != 429 || d.Header.Get("Retry-After") != "60" {
		t.Fatalf("first 429: %d %v", d.Status, d.Header)
	}
	// While Ory keeps answering 429: 10 s of a flood, 20 requests every
	// 100 ms. At most BackoffProbesPerSecond lookups a second reach Ory.
	for step := range 100 {
		clock.advance(100 * time.Millisecond)
		for i := range 20 {
			if d := rt.Authenticate(ctx, tokenRequest("junk-"+string(rune('a'+i))+string(rune('a'+step%26)))); d.Status != 429 || d.Header.Get("Retry-After") == "" {
				t.Fatalf("during the backoff: %d %v", d.Status, d.Header)
			}
		}
		if d := rt.Authenticate(ctx, tokenRequest("cached")); !d.Allow {
			t.Fatalf("a cached session was refused during the backoff: %d", d.Status)
		}
	}
	probes := ory.Calls() - calls - 1
	if probes < 1 || probes > 10*BackoffProbesPerSecond {
		t.Fatalf("%d probe lookups in 10 s of backoff, want between 1 and %d", probes, 10*BackoffProbesPerSecond)
	}

	// Ory answers again: the next probe ends the backoff for everyone.
	ory.ReplyAll(nil)
	var got bool
	for range 2 * BackoffProbesPerSecond { // within a second
		clock.advance(time.Second / (2 * BackoffProbesPerSecond))
		if d := rt.Authenticate(ctx, tokenRequest("user")); d.Allow && d.Session.Id == "s1" {
			got = true
			break
		}
	}
	if !got {
		t.Fatal("a user whose session Ory answers was still refused a second after Ory recovered")
	}
	calls = ory.Calls()
	if d := rt.Authenticate(ctx, tokenRequest("junk-after")); d.Status != http.StatusUnauthorized {
		t.Fatalf("after the backoff ended: %d, want Ory's own 401", d.Status)
	}
	if ory.Calls() != calls+1 {
		t.Fatal("the backoff did not end: Ory was not asked")
	}
}

// TestBusyNeverServesStale: MaxConcurrentLookups full is the guard's own
// saturation, not an Ory failure: stale-if-error does not serve a stale
// entry for it.
func TestBusyNeverServesStale(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("stale", orytest.ActiveSession("s1", "a@example.com"))
	ory.Reply("slow", orytest.Reply{Hang: true})
	g, clock := clockedGuard(t, Config{OryURL: ory.URL, MaxConcurrentLookups: 1, Timeout: 5 * time.Second,
		Cache: CacheConfig{TTL: time.Second, StaleIfError: time.Hour}})
	rt := g.Route()
	if d := rt.Authenticate(context.Background(), tokenRequest("stale")); !d.Allow {
		t.Fatalf("warm-up: %d", d.Status)
	}
	clock.advance(2 * time.Second) // the entry is stale, within StaleIfError

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rt.Authenticate(ctx, tokenRequest("slow")) // holds the only lookup slot
	}()
	for ory.Calls() < 2 { // the slow lookup reached Ory
		time.Sleep(time.Millisecond)
	}
	d := rt.Authenticate(context.Background(), tokenRequest("stale"))
	if d.Allow || d.Status != http.StatusServiceUnavailable {
		t.Fatalf("with the lookup limit full: allow=%v status %d, want 503 (no stale session)", d.Allow, d.Status)
	}
	cancel()
	<-done
	// A real Ory failure still serves it.
	ory.ReplyAll(&orytest.Reply{Status: 503})
	if d := rt.Authenticate(context.Background(), tokenRequest("stale")); !d.Allow {
		t.Fatalf("Ory failing: %d, want the stale session", d.Status)
	}
}
