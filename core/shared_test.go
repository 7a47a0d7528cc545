package core_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// memTier is an in-memory core.SharedCache shared by the guards of a test,
// like one Redis shared by a fleet. Values are kept as core hands them
// over (the Redis tier encrypts them).
type memTier struct {
	secrets [][]byte
	fleet   *memFleet
	gets    atomic.Int64
	fail    atomic.Bool
}

type memFleet struct {
	mu     sync.Mutex
	values map[string][]byte
	index  map[string][]string
	subs   []func(core.Invalidation)
}

var errTierDown = errors.New("tier down")

func newFleet() *memFleet {
	return &memFleet{values: map[string][]byte{}, index: map[string][]string{}}
}

func (f *memFleet) tier(secrets ...string) *memTier {
	t := &memTier{fleet: f}
	for _, s := range secrets {
		t.secrets = append(t.secrets, []byte(s))
	}
	return t
}

func (f *memFleet) publish(inv core.Invalidation) {
	f.mu.Lock()
	subs := append([]func(core.Invalidation){}, f.subs...)
	f.mu.Unlock()
	for _, fn := range subs {
		fn(inv)
	}
}

func (t *memTier) KeySecrets() [][]byte { return t.secrets }

func (t *memTier) Get(_ context.Context, keys [][]byte) ([]byte, error) {
	t.gets.Add(1)
	if t.fail.Load() {
		return nil, errTierDown
	}
	t.fleet.mu.Lock()
	defer t.fleet.mu.Unlock()
	for _, k := range keys {
		if v, ok := t.fleet.values[string(k)]; ok {
			return v, nil
		}
	}
	return nil, nil
}

func (t *memTier) Set(_ context.Context, key, sid, value []byte, _ time.Duration) error {
	if t.fail.Load() {
		return errTierDown
	}
	t.fleet.mu.Lock()
	defer t.fleet.mu.Unlock()
	t.fleet.values[string(key)] = value
	t.fleet.index[string(sid)] = append(t.fleet.index[string(sid)], string(key))
	return nil
}

func (t *memTier) Delete(_ context.Context, keys [][]byte) error {
	if t.fail.Load() {
		return errTierDown
	}
	t.fleet.mu.Lock()
	for _, k := range keys {
		delete(t.fleet.values, string(k))
	}
	t.fleet.mu.Unlock()
	t.fleet.publish(core.Invalidation{Keys: keys})
	return nil
}

func (t *memTier) DeleteSessions(_ context.Context, sids [][]byte) error {
	if t.fail.Load() {
		return errTierDown
	}
	t.fleet.mu.Lock()
	for _, s := range sids {
		for _, k := range t.fleet.index[string(s)] {
			delete(t.fleet.values, k)
		}
		delete(t.fleet.index, string(s))
	}
	t.fleet.mu.Unlock()
	t.fleet.publish(core.Invalidation{Sessions: sids})
	return nil
}

func (t *memTier) Subscribe(fn func(core.Invalidation)) {
	t.fleet.mu.Lock()
	defer t.fleet.mu.Unlock()
	t.fleet.subs = append(t.fleet.subs, fn)
}

const (
	secretA = "fleet-secret-a-0123456789abcdefghij"
	secretB = "fleet-secret-b-0123456789abcdefghij"
)

func sharedGuard(t *testing.T, ory string, tier core.SharedCache) *core.Guard {
	t.Helper()
	g, _ := newGuard(t, ory, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: time.Minute, Shared: tier}
	})
	return g
}

func allowed(g *core.Guard, cookie string) bool {
	return g.Route().Authenticate(context.Background(), browser("/", cookie)).Allow
}

func TestSharedTierSavesWhoamiAcrossInstances(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	fleet := newFleet()
	a := sharedGuard(t, ory.URL, fleet.tier(secretA))
	b := sharedGuard(t, ory.URL, fleet.tier(secretA))
	other := sharedGuard(t, ory.URL, fleet.tier(secretB)) // another fleet secret
	for _, g := range []*core.Guard{a, b, a, b} {
		if !allowed(g, "ory_kratos_session=good") {
			t.Fatal("denied")
		}
	}
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls for one session on two instances, want 1", c)
	}
	if !allowed(other, "ory_kratos_session=good") || ory.Calls() != 2 {
		t.Fatalf("an instance under another fleet secret must not read the entry (whoami calls %d, want 2)", ory.Calls())
	}
	for _, v := range fleet.values {
		if bytes.Contains(v, []byte("good")) {
			t.Fatal("the shared value holds the credential")
		}
	}
	for k := range fleet.values {
		if strings.Contains(k, "good") {
			t.Fatal("the shared key holds the credential")
		}
	}
}

func TestSharedTierReadOnceInsideTheCollapsedFlight(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("good", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")), Delay: 200 * time.Millisecond})
	tier := newFleet().tier(secretA)
	g := sharedGuard(t, ory.URL, tier)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			if !allowed(g, "ory_kratos_session=good") {
				t.Error("denied")
			}
		})
	}
	close(start)
	wg.Wait()
	if n := tier.gets.Load(); n != 1 {
		t.Fatalf("%d shared-tier reads for 50 concurrent misses, want 1", n)
	}
}

func TestSharedTierDownIsNeverASessionNorAnError(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	tier := newFleet().tier(secretA)
	tier.fail.Store(true)
	g := sharedGuard(t, ory.URL, tier)
	tests := []struct {
		cookie string
		allow  bool
		status int
	}{
		{"ory_kratos_session=good", true, 0},
		{"ory_kratos_session=unknown", false, http.StatusSeeOther},
	}
	for _, tc := range tests {
		d := g.Route().Authenticate(context.Background(), browser("/", tc.cookie))
		if d.Allow != tc.allow || (!tc.allow && d.Status != tc.status) {
			t.Errorf("%s: allow %v status %d, want allow %v status %d", tc.cookie, d.Allow, d.Status, tc.allow, tc.status)
		}
	}
}

func TestSharedTierUnreadableValueIsAMiss(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	fleet := newFleet()
	a := sharedGuard(t, ory.URL, fleet.tier(secretA))
	if !allowed(a, "ory_kratos_session=good") {
		t.Fatal("denied")
	}
	corruptions := []func([]byte) []byte{
		func(v []byte) []byte { v[len(v)-2] ^= 0xff; return v },                         // broken JSON
		func(v []byte) []byte { v[0] = 9; return v },                                    // unknown version
		func(v []byte) []byte { return v[:5] },                                          // truncated
		func([]byte) []byte { return []byte("\x01\x7f\xff\xff\xff\xff\xff\xff\xff{}") }, // no session
	}
	for i, corrupt := range corruptions {
		fleet.mu.Lock()
		for k, v := range fleet.values {
			fleet.values[k] = corrupt(append([]byte(nil), v...))
		}
		fleet.mu.Unlock()
		ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
		b := sharedGuard(t, ory.URL, fleet.tier(secretA))
		if allowed(b, "ory_kratos_session=good") {
			t.Fatalf("corruption %d: an unreadable shared value was served as a session", i)
		}
		ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
		_ = allowed(sharedGuard(t, ory.URL, fleet.tier(secretA)), "ory_kratos_session=good") // writes a good value again
	}
}

func TestSharedTierRotation(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	fleet := newFleet()
	// Rotation goes in steps; in each, the instances share every secret
	// that either writes. Here: B was added to every instance's list, and
	// this one moved it to the front.
	old := sharedGuard(t, ory.URL, fleet.tier(secretA, secretB))
	rotated := sharedGuard(t, ory.URL, fleet.tier(secretB, secretA))
	if !allowed(old, "ory_kratos_session=good") || !allowed(rotated, "ory_kratos_session=good") {
		t.Fatal("denied")
	}
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls, want 1: the rotated instance reads under the old secret too", c)
	}
	// A logout through the old instance reaches the rotated one: the
	// invalidation names the key under every secret the sender has.
	ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	old.LogoutRedirect(context.Background(), browser("/logout", "ory_kratos_session=good"))
	if allowed(rotated, "ory_kratos_session=good") {
		t.Fatal("the rotated instance served a session logged out on the old one")
	}
}

func TestSharedTierFleetForgets(t *testing.T) {
	tests := []struct {
		name   string
		forget func(a *core.Guard) error
	}{
		{"browser logout", func(a *core.Guard) error {
			a.LogoutRedirect(context.Background(), browser("/logout", "ory_kratos_session=good"))
			return nil
		}},
		{"ForgetSession", func(a *core.Guard) error { return a.ForgetSession(context.Background(), "s1") }},
		{"lost channel", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
			fleet := newFleet()
			a := sharedGuard(t, ory.URL, fleet.tier(secretA))
			b := sharedGuard(t, ory.URL, fleet.tier(secretA))
			if !allowed(a, "ory_kratos_session=good") || !allowed(b, "ory_kratos_session=good") {
				t.Fatal("denied")
			}
			// Ory revokes the session; until told, both serve it from cache.
			ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
			if !allowed(b, "ory_kratos_session=good") {
				t.Fatal("the cached session was not served (the test proves nothing)")
			}
			if tc.forget == nil {
				// A logout elsewhere emptied the tier while this fleet's
				// channel was down; on reconnect each instance clears.
				fleet.mu.Lock()
				clear(fleet.values)
				fleet.mu.Unlock()
				fleet.publish(core.Invalidation{All: true})
			} else if err := tc.forget(a); err != nil {
				t.Fatal(err)
			}
			for name, g := range map[string]*core.Guard{"a": a, "b": b} {
				if allowed(g, "ory_kratos_session=good") {
					t.Errorf("instance %s still serves the forgotten session", name)
				}
			}
			if tc.forget != nil && len(fleet.values) != 0 {
				t.Errorf("%d values left in the shared tier", len(fleet.values))
			}
		})
	}
}

// A whoami answer that was asked before a logout and arrives after it must
// not be cached: the credential stays buried for one TTL.
func TestLateAnswerAfterLogoutIsNotCached(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("good", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")), Delay: 300 * time.Millisecond})
	fleet := newFleet()
	a := sharedGuard(t, ory.URL, fleet.tier(secretA))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) {
		c.Timeout = 2 * time.Second
		c.Cache = core.CacheConfig{TTL: time.Minute, Shared: fleet.tier(secretA)}
	})
	done := make(chan bool)
	go func() { done <- allowed(g, "ory_kratos_session=good") }()
	time.Sleep(100 * time.Millisecond) // the question is on its way to Ory
	a.LogoutRedirect(context.Background(), browser("/logout", "ory_kratos_session=good"))
	<-done
	ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	if allowed(g, "ory_kratos_session=good") || allowed(a, "ory_kratos_session=good") {
		t.Fatal("an answer asked before the logout was cached after it")
	}
}

func TestSharedConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cache core.CacheConfig
		want  string
	}{
		{"no TTL", core.CacheConfig{Shared: newFleet().tier(secretA)}, "Cache.TTL"},
		{"short secret", core.CacheConfig{TTL: time.Minute, Shared: newFleet().tier("short")}, "at least 32"},
		{"no secret", core.CacheConfig{TTL: time.Minute, Shared: newFleet().tier()}, "no key secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.New(core.Config{OryURL: "http://127.0.0.1:1", Cache: tc.cache})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	g, err := core.New(core.Config{OryURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if g.ForgetSession(context.Background(), "") == nil {
		t.Fatal("ForgetSession accepted an empty session ID")
	}
}

// A thief who adds a malformed session cookie beside a stolen one still
// loses the session when its owner logs out elsewhere: with a shared tier
// entries are keyed by the cookies Ory sees.
func TestFleetLogoutIgnoresMalformedExtraCookies(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	fleet := newFleet()
	owner := sharedGuard(t, ory.URL, fleet.tier(secretA))
	thief := sharedGuard(t, ory.URL, fleet.tier(secretA))
	const padded = `ory_session_x=bad"value; ory_kratos_session=good`
	if !allowed(thief, padded) || !allowed(owner, "ory_kratos_session=good") {
		t.Fatal("denied")
	}
	ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	owner.LogoutRedirect(context.Background(), browser("/logout", "ory_kratos_session=good"))
	if allowed(thief, padded) {
		t.Fatal("the padded credential outlived a fleet logout")
	}
}

// A session from the shared tier that fails a route's policy is asked
// about again at Ory, not at the tier: the user may have just stepped up.
func TestSharedCopyIsRecheckedAtOry(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	s := orytest.ActiveSession("s1", "a@example.com")
	ory.Session("good", s)
	fleet := newFleet()
	a := sharedGuard(t, ory.URL, fleet.tier(secretA))
	b := sharedGuard(t, ory.URL, fleet.tier(secretA))
	if !allowed(a, "ory_kratos_session=good") {
		t.Fatal("denied")
	}
	aal2 := client.AUTHENTICATORASSURANCELEVEL_AAL2
	s.AuthenticatorAssuranceLevel = &aal2
	ory.Session("good", s) // stepped up in Ory
	if d := b.Route(core.RequireAAL2()).Authenticate(context.Background(), browser("/", "ory_kratos_session=good")); !d.Allow {
		t.Fatalf("status %d: the shared aal1 copy was not rechecked at Ory", d.Status)
	}
}
