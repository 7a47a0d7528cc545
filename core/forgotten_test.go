package core_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// countingTier is a memTier that counts what it tells the fleet.
type countingTier struct {
	*memTier
	deletes atomic.Int64 // Delete and DeleteSessions calls: each publishes
}

func (t *countingTier) Delete(ctx context.Context, keys [][]byte) error {
	t.deletes.Add(1)
	return t.memTier.Delete(ctx, keys)
}

func (t *countingTier) DeleteSessions(ctx context.Context, sids [][]byte) error {
	t.deletes.Add(1)
	return t.memTier.DeleteSessions(ctx, sids)
}

func logoutReq(cookie string) *core.Request {
	r := browser("/logout", cookie)
	r.Method, r.SecFetchSite = http.MethodPost, "same-origin"
	return r
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestLogoutForgetsTheSessionNotOneSpelling (issue 21, point 1): a logout
// forgets the session by its ID, so the same session presented in another
// form (a stolen cookie plus a junk ory_session_* cookie, an older
// encoding of the session cookie, the session's token as a cookie) is
// denied after the victim logs out, on this instance and on the others.
func TestLogoutForgetsTheSessionNotOneSpelling(t *testing.T) {
	spellings := []struct {
		name, attacker, victim string
		native                 bool // the victim logs out with the token
	}{
		{name: "junk extra cookie", attacker: "ory_kratos_session=good; ory_session_zz=1", victim: "ory_kratos_session=good"},
		{name: "older cookie encoding", attacker: "ory_kratos_session=old", victim: "ory_kratos_session=good"},
		{name: "native logout, token as cookie", attacker: "ory_kratos_session=good", victim: "good", native: true},
	}
	for _, sp := range spellings {
		for _, where := range []string{"one instance", "fleet", "fleet, victim cached on a third instance", "fleet, victim cached nowhere"} {
			t.Run(sp.name+"/"+where, func(t *testing.T) {
				ory := orytest.NewServer()
				defer ory.Close()
				ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
				ory.Session("old", orytest.ActiveSession("s1", "a@example.com"))
				var attackerG, victimG *core.Guard
				fleet := newFleet()
				if where == "one instance" {
					attackerG, _ = cachedGuard(t, ory.URL, nil)
					victimG = attackerG
				} else {
					attackerG = sharedGuard(t, ory.URL, fleet.tier(secretA))
					victimG = sharedGuard(t, ory.URL, fleet.tier(secretA))
				}
				if !allowed(attackerG, sp.attacker) {
					t.Fatal("the attacker's spelling is denied before the logout")
				}
				victimReq := browser("/", sp.victim)
				logout := logoutReq(sp.victim)
				if sp.native {
					victimReq = &core.Request{URI: "/api/me", SessionToken: sp.victim}
					logout = &core.Request{Method: http.MethodPost, URI: "/logout", SessionToken: sp.victim}
				}
				usedG := victimG
				if where == "fleet, victim cached on a third instance" {
					usedG = sharedGuard(t, ory.URL, fleet.tier(secretA)) // the logout instance knows the session from the tier
				}
				if where != "fleet, victim cached nowhere" {
					if d := usedG.Route().Authenticate(context.Background(), victimReq); !d.Allow {
						t.Fatalf("the victim is denied before the logout: %d", d.Status)
					}
				}
				if d := victimG.LogoutRedirect(context.Background(), logout); d.Status >= 400 {
					t.Fatalf("logout: %d %s", d.Status, d.Body)
				}
				// Kratos ends the session (the browser follows the logout URL).
				for _, c := range []string{"good", "old"} {
					ory.Reply(c, orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
				}
				if allowed(attackerG, sp.attacker) {
					t.Fatal("the same session in another spelling is still served after the logout")
				}
			})
		}
	}
}

// heldSession makes Ory's answer for credential wait until the returned
// function is called.
func heldSession(ory *orytest.Server, credential, id string) (release func()) {
	ch := make(chan struct{})
	ory.Reply(credential, orytest.Reply{Body: mustJSON(orytest.ActiveSession(id, "a@example.com")), Until: ch})
	return sync.OnceFunc(func() { close(ch) })
}

// waitCalls waits until Ory has received n whoami calls.
func waitCalls(t *testing.T, ory *orytest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ory.Calls() < n {
		if time.Now().After(deadline) {
			t.Fatalf("Ory got %d whoami calls, want %d", ory.Calls(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestForgetSessionStopsLookupsInFlight (issue 21, point 3): a whoami
// answer asked before ForgetSession and arriving after it returned reaches
// the request that asked, but is neither cached nor shared. The race is
// forced by holding Ory's answer until ForgetSession has returned.
func TestForgetSessionStopsLookupsInFlight(t *testing.T) {
	for _, shared := range []bool{false, true} {
		name := "in-process cache"
		if shared {
			name = "shared tier"
		}
		t.Run(name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			release := heldSession(ory, "good", "s1")
			defer release()
			fleet := newFleet()
			var g, other *core.Guard
			if shared {
				g = sharedGuard(t, ory.URL, fleet.tier(secretA))
				other = sharedGuard(t, ory.URL, fleet.tier(secretA))
			} else {
				g, _ = cachedGuard(t, ory.URL, nil)
			}
			done := make(chan bool)
			go func() { done <- allowed(g, "ory_kratos_session=good") }()
			waitCalls(t, ory, 1) // the question is at Ory, its answer held
			if err := g.ForgetSession(context.Background(), "s1"); err != nil {
				t.Fatal(err)
			}
			release()
			if !<-done {
				t.Fatal("the request that asked before the revocation was denied (the test proves nothing)")
			}
			ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
			if allowed(g, "ory_kratos_session=good") {
				t.Fatal("the answer asked before ForgetSession was cached after it")
			}
			fleet.mu.Lock()
			n := len(fleet.values)
			fleet.mu.Unlock()
			if n != 0 {
				t.Fatalf("the answer asked before ForgetSession was shared after it (%d values)", n)
			}
			if other != nil && allowed(other, "ory_kratos_session=good") {
				t.Fatal("another instance serves the forgotten session")
			}
		})
	}
}

// TestForgottenSessionIsNotReadBackFromTheTier (issue 21, point 3): a
// value of a forgotten session that lands in the shared tier after the
// forget (a late write) is not served by an instance that was told.
func TestForgottenSessionIsNotReadBackFromTheTier(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	fleet := newFleet()
	a := sharedGuard(t, ory.URL, fleet.tier(secretA))
	b := sharedGuard(t, ory.URL, fleet.tier(secretA))
	if !allowed(a, "ory_kratos_session=good") {
		t.Fatal("denied")
	}
	fleet.mu.Lock()
	late := map[string][]byte{}
	for k, v := range fleet.values {
		late[k] = v
	}
	fleet.mu.Unlock()
	if len(late) == 0 {
		t.Fatal("nothing was shared (the test proves nothing)")
	}
	if err := a.ForgetSession(context.Background(), "s1"); err != nil {
		t.Fatal(err)
	}
	fleet.mu.Lock()
	for k, v := range late { // a write that reaches the tier after the delete
		fleet.values[k] = v
	}
	fleet.mu.Unlock()
	ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	for name, g := range map[string]*core.Guard{"a": a, "b": b} {
		if allowed(g, "ory_kratos_session=good") {
			t.Errorf("instance %s serves the forgotten session from the tier", name)
		}
	}
}

// TestForgetSessionFindsEverySpellingWithoutScanning: a session cached
// under many spellings is forgotten whole, and the spellings one session
// may be cached under are bounded (a further one is answered by Ory, not
// cached).
func TestForgetSessionFindsEverySpelling(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := cachedGuard(t, ory.URL, nil)
	const n = 40
	cookie := func(i int) string {
		return "ory_kratos_session=good; ory_session_j" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=1"
	}
	for i := range n {
		if !allowed(g, cookie(i)) {
			t.Fatalf("spelling %d denied", i)
		}
	}
	before := ory.Calls()
	for i := range n {
		allowed(g, cookie(i))
	}
	if cached := n - (ory.Calls() - before); cached < 1 || cached >= n {
		t.Fatalf("%d of %d spellings of one session served from the cache; want some, not all", cached, n)
	}
	if err := g.ForgetSession(context.Background(), "s1"); err != nil {
		t.Fatal(err)
	}
	ory.Reply("good", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	for i := range n {
		if allowed(g, cookie(i)) {
			t.Fatalf("spelling %d still served after ForgetSession", i)
		}
	}
}

// TestLogoutOfUnknownCredentialCostsNothing (issue 21, point 6): logging
// out credentials nobody knew tells the fleet nothing and leaves other
// users' cached sessions in place; a browser logout with a random cookie
// tells the fleet nothing before (or after) Ory says there is no session.
func TestLogoutOfUnknownCredentialCostsNothing(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	const users = 20
	for i := range users {
		ory.Session("user"+string(rune('a'+i)), orytest.ActiveSession("s"+string(rune('a'+i)), "a@example.com"))
	}
	fleet := newFleet()
	tier := &countingTier{memTier: fleet.tier(secretA)}
	g, _ := newGuard(t, ory.URL, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: time.Hour, MaxEntries: 64, Shared: tier}
	})
	for i := range users {
		if !allowed(g, "ory_kratos_session=user"+string(rune('a'+i))) {
			t.Fatal("denied")
		}
	}
	for range 1000 {
		d := g.LogoutRedirect(context.Background(), &core.Request{Method: http.MethodPost, URI: "/logout", SessionToken: randomHex(t)})
		if d.Status != http.StatusNoContent {
			t.Fatalf("native logout: %d", d.Status)
		}
	}
	for range 100 {
		d := g.LogoutRedirect(context.Background(), logoutReq("ory_kratos_session="+randomHex(t)))
		if d.Status != http.StatusSeeOther {
			t.Fatalf("browser logout: %d", d.Status)
		}
	}
	if n := tier.deletes.Load(); n != 0 {
		t.Fatalf("logouts of unknown credentials told the fleet %d times, want 0", n)
	}
	before := ory.Calls()
	for i := range users {
		if !allowed(g, "ory_kratos_session=user"+string(rune('a'+i))) {
			t.Fatal("denied")
		}
	}
	if n := ory.Calls() - before; n != 0 {
		t.Fatalf("%d of %d users lost their cached session to logouts of unknown credentials", n, users)
	}
}

// cancelTier is a memTier whose Get, like a network client, fails when its
// context has ended by the time the answer comes; it counts those failures
// as a tier would count Redis failing.
type cancelTier struct {
	*memTier
	entered  chan struct{}
	release  chan struct{}
	failures atomic.Int64
}

func (t *cancelTier) Get(ctx context.Context, keys [][]byte) ([]byte, error) {
	t.entered <- struct{}{}
	<-t.release
	if err := ctx.Err(); err != nil {
		t.failures.Add(1)
		return nil, err
	}
	return t.memTier.Get(ctx, keys)
}

// TestClientHangingUpIsNotATierFailure (issue 21, point 2, core side): the
// shared tier is never handed the request's cancellation, so a client that
// hangs up cannot make a healthy tier fail.
func TestClientHangingUpIsNotATierFailure(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	tier := &cancelTier{memTier: newFleet().tier(secretA), entered: make(chan struct{}), release: make(chan struct{})}
	g := sharedGuard(t, ory.URL, tier)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Route().Authenticate(ctx, browser("/", "ory_kratos_session=good"))
	}()
	<-tier.entered // the tier is being asked
	cancel()       // the client hangs up
	close(tier.release)
	<-done
	if n := tier.failures.Load(); n != 0 {
		t.Fatalf("the tier saw the client's cancellation %d times", n)
	}
}

// unsubTier is a memTier whose subscriptions can end.
type unsubTier struct{ *memTier }

func (t *unsubTier) Watch(fn func(core.Invalidation)) func() {
	f := t.fleet
	called := false
	wrapped := func(inv core.Invalidation) {
		f.mu.Lock()
		gone := called
		f.mu.Unlock()
		if !gone {
			fn(inv)
		}
	}
	f.mu.Lock()
	f.subs = append(f.subs, wrapped)
	i := len(f.subs) - 1
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !called {
			called = true
			f.subs[i] = nil
		}
	}
}

func (f *memFleet) liveSubs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.subs {
		if s != nil {
			n++
		}
	}
	return n
}

// TestCloseEndsTheSubscription (issue 21): a closed guard leaves nothing
// in its tier: with SharedCacheWatcher it unsubscribes, and with a
// plain SharedCache the guard itself can be freed.
func TestCloseEndsTheSubscription(t *testing.T) {
	t.Run("unsubscriber", func(t *testing.T) {
		fleet := newFleet()
		g := sharedGuard(t, "http://127.0.0.1:1", &unsubTier{fleet.tier(secretA)})
		if n := fleet.liveSubs(); n != 1 {
			t.Fatalf("%d subscriptions, want 1", n)
		}
		for range 2 { // idempotent
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if n := fleet.liveSubs(); n != 0 {
			t.Fatalf("%d subscriptions left after Close", n)
		}
	})
	t.Run("plain tier frees the guard", func(t *testing.T) {
		fleet := newFleet()
		g := sharedGuard(t, "http://127.0.0.1:1", fleet.tier(secretA))
		freed := make(chan struct{})
		runtime.AddCleanup(g, func(ch chan struct{}) { close(ch) }, freed)
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		g = nil //nolint:ineffassign,wastedassign // drops the last reference
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			select {
			case <-freed:
				fleet.publish(core.Invalidation{All: true}) // reaches nothing, breaks nothing
				return
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("the tier still holds the closed guard")
			}
		}
	})
}

// TestLogoutDuringLookupForgetsTheSessionItFinds (issue 21, point 1): a
// native logout while the token's own lookup is in flight (the guard knows
// no session ID yet) forgets, once that lookup answers, the session it
// found in every spelling: here the same session cached as a cookie.
func TestLogoutDuringLookupForgetsTheSessionItFinds(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := cachedGuard(t, ory.URL, nil)
	if !allowed(g, "ory_kratos_session=tok") {
		t.Fatal("denied")
	}
	release := heldSession(ory, "tok", "s1")
	defer release()
	done := make(chan bool)
	go func() {
		done <- g.Route().Authenticate(context.Background(), &core.Request{URI: "/api/me", SessionToken: "tok"}).Allow
	}()
	waitCalls(t, ory, 2) // the token's lookup is at Ory, its answer held
	if d := g.LogoutRedirect(context.Background(), &core.Request{Method: http.MethodPost, URI: "/logout", SessionToken: "tok"}); d.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", d.Status)
	}
	release()
	<-done
	if allowed(g, "ory_kratos_session=tok") {
		t.Fatal("the session found by the lookup in flight at logout is still served as a cookie")
	}
}
