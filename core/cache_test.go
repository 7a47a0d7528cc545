package core_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

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

func TestOrySessionCacheFor(t *testing.T) {
	tests := []struct {
		header string
		calls  int // after two requests in a row
	}{
		{"", 1},
		{"60", 1},
		{"0", 2},
		{"garbage", 1},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			h := http.Header{}
			if tc.header != "" {
				h.Set("Ory-Session-Cache-For", tc.header)
			}
			ory.Reply("good", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")), Header: h})
			g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Hour} })
			for range 2 {
				if !allowed(g, "ory_kratos_session=good") {
					t.Fatal("denied")
				}
			}
			if c := ory.Calls(); c != tc.calls {
				t.Fatalf("%d whoami calls, want %d", c, tc.calls)
			}
		})
	}
}

// TestCacheFollowsOry: with no TTL the guard reuses an answer only as long
// as Ory-Session-Cache-For less Age allows; a TTL adds caching of answers
// without the header and still takes Age off; Disabled always asks Ory.
func TestCacheFollowsOry(t *testing.T) {
	tests := []struct {
		name   string
		cache  core.CacheConfig
		header map[string]string
		calls  int // after two requests in a row
	}{
		{"default, no header", core.CacheConfig{}, nil, 2},
		{"default, 60", core.CacheConfig{}, map[string]string{"Ory-Session-Cache-For": "60"}, 1},
		{"default, 60, Age 59", core.CacheConfig{}, map[string]string{"Ory-Session-Cache-For": "60", "Age": "59"}, 1},
		{"default, 60, Age 60", core.CacheConfig{}, map[string]string{"Ory-Session-Cache-For": "60", "Age": "60"}, 2},
		{"default, 60, Age garbage", core.CacheConfig{}, map[string]string{"Ory-Session-Cache-For": "60", "Age": "x"}, 1},
		{"default, 0", core.CacheConfig{}, map[string]string{"Ory-Session-Cache-For": "0"}, 2},
		{"default, garbage", core.CacheConfig{}, map[string]string{"Ory-Session-Cache-For": "soon"}, 2},
		{"TTL, no header", core.CacheConfig{TTL: time.Hour}, nil, 1},
		{"TTL, 60, Age 60", core.CacheConfig{TTL: time.Hour}, map[string]string{"Ory-Session-Cache-For": "60", "Age": "60"}, 2},
		{"TTL, 60, Age 30", core.CacheConfig{TTL: time.Hour}, map[string]string{"Ory-Session-Cache-For": "60", "Age": "30"}, 1},
		{"disabled, 60", core.CacheConfig{Disabled: true}, map[string]string{"Ory-Session-Cache-For": "60"}, 2},
		{"disabled with TTL", core.CacheConfig{Disabled: true, TTL: time.Hour}, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			ory.Reply("good", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")), Header: h})
			g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.Cache = tc.cache })
			for range 2 {
				if !allowed(g, "ory_kratos_session=good") {
					t.Fatal("denied")
				}
			}
			if c := ory.Calls(); c != tc.calls {
				t.Fatalf("%d whoami calls, want %d", c, tc.calls)
			}
		})
	}
}

// TestCacheForExpires: an entry that follows Ory-Session-Cache-For is asked
// again once Ory's time (less Age) is up.
func TestCacheForExpires(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("good", orytest.Reply{
		Body:   mustJSON(orytest.ActiveSession("s1", "a@example.com")),
		Header: http.Header{"Ory-Session-Cache-For": {"2"}, "Age": {"1"}},
	})
	g, _ := newGuard(t, ory.URL, nil)
	_ = allowed(g, "ory_kratos_session=good")
	_ = allowed(g, "ory_kratos_session=good")
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls, want 1", c)
	}
	time.Sleep(1100 * time.Millisecond)
	ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	if allowed(g, "ory_kratos_session=good") {
		t.Fatal("the session outlived Ory-Session-Cache-For less Age")
	}
}

func TestCacheConfigErrors(t *testing.T) {
	for _, cc := range []core.CacheConfig{{TTL: -time.Second}, {MaxEntries: -1}, {StaleIfError: -time.Second}} {
		if _, err := core.New(core.Config{OryURL: "http://127.0.0.1:1", Cache: cc}); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%+v: error %v, want ErrInvalidConfig", cc, err)
		}
	}
}
