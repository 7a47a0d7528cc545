package core_test

import (
	"context"
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

func TestCallerContextEndsFirst(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.ReplyAll(&orytest.Reply{Hang: true})
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Timeout = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	d := g.Route().Authenticate(ctx, browser("/", "ory_kratos_session=x"))
	if d.Allow || d.Status < 500 {
		t.Fatalf("got allow=%v status=%d", d.Allow, d.Status)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatalf("caller waited for the shared lookup instead of returning when its context ended")
	}
}
