package core

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core/orytest"
)

// The refresh-ahead tests run on a fake clock (clockedGuard) with a
// one-minute TTL: an entry asked about at 0 s is fresh until 60 s and is
// refreshed when used from 45 s on. Races are forced with Ory's answers
// held (orytest.Reply.Until), never with sleeps; settle waits for the
// refreshes in flight.

const refreshTTL = time.Minute

// lateInLife is a moment in the last quarter of an entry asked about at 0.
const lateInLife = 50 * time.Second

type refreshRig struct {
	t     *testing.T
	ory   *orytest.Server
	g     *Guard
	clock *fakeClock
	rt    *Route
}

func newRefreshRig(t *testing.T, mutate func(*Config)) *refreshRig {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	cfg := Config{OryURL: ory.URL, Cache: CacheConfig{TTL: refreshTTL}, Timeout: 5 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	g, clock := clockedGuard(t, cfg)
	t.Cleanup(func() { _ = g.Close() })
	return &refreshRig{t: t, ory: ory, g: g, clock: clock, rt: g.Route()}
}

// use authenticates one request with session token tok.
func (r *refreshRig) use(tok string) Decision {
	return r.rt.Authenticate(context.Background(), tokenRequest(tok))
}

// mustUse authenticates one request and wants it allowed with session id.
func (r *refreshRig) mustUse(tok, id string) Decision {
	r.t.Helper()
	d := r.use(tok)
	if !d.Allow || d.Session.Id != id {
		r.t.Fatalf("denied (%d) or another session: want %s allowed", d.Status, id)
	}
	return d
}

// settle waits for the refreshes in flight.
func (r *refreshRig) settle() {
	if r.g.ahead != nil {
		r.g.ahead.wg.Wait()
	}
}

// cacheControls lists the Cache-Control header of every whoami call.
func (r *refreshRig) cacheControls() []string {
	var out []string
	headers := r.ory.Headers()
	for i, rec := range r.ory.Requests() {
		if rec.Path == "/sessions/whoami" {
			out = append(out, headers[i].Get("Cache-Control"))
		}
	}
	return out
}

// entryFor returns what the cache holds for session token tok.
func (r *refreshRig) entryFor(tok string) *entry {
	e, _ := r.g.cache.GetIfPresent(r.g.key(&credential{kind: credToken, token: tok}))
	return e
}

func sessionBody(t *testing.T, s client.Session) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hold makes Ory's answer for tok wait until release is called.
func hold(ory *orytest.Server, tok string, rep orytest.Reply) (release func()) {
	ch := make(chan struct{})
	rep.Until = ch
	ory.Reply(tok, rep)
	return sync.OnceFunc(func() { close(ch) })
}

// TestRefreshAheadServesTheCacheAndRefreshesOnce: requests late in an
// entry's life are served the cached session while Ory has not answered
// (its answer is held), many at once start one refresh, and the refreshed
// entry serves past the old one's expiry without asking Ory.
func TestRefreshAheadServesTheCacheAndRefreshesOnce(t *testing.T) {
	r := newRefreshRig(t, nil)
	r.ory.Session("tok", orytest.ActiveSession("s1", "old@example.com"))
	r.mustUse("tok", "s1")
	r.clock.advance(30 * time.Second) // used early in its life: no refresh
	r.mustUse("tok", "s1")
	if c := r.ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls before the last quarter of the entry's life, want 1", c)
	}
	release := hold(r.ory, "tok", orytest.Reply{Body: sessionBody(t, orytest.ActiveSession("s1", "new@example.com"))})
	defer release()
	r.clock.advance(lateInLife - 30*time.Second)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			d := r.use("tok")
			if !d.Allow || d.Session.Identity.Traits.(map[string]any)["email"] != "old@example.com" {
				t.Errorf("allow=%v (%d): want the cached session, served while Ory's answer is held", d.Allow, d.Status)
			}
		})
	}
	wg.Wait() // every request returned; Ory has not answered
	release()
	r.settle()
	if c := r.ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2: 32 concurrent requests late in the entry's life start one refresh", c)
	}
	r.clock.advance(refreshTTL - lateInLife + time.Second) // past the first entry's expiry
	if d := r.mustUse("tok", "s1"); d.Session.Identity.Traits.(map[string]any)["email"] != "new@example.com" {
		t.Fatal("the refreshed answer was not cached")
	}
	if c := r.ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2: the refreshed entry serves past the old one's expiry", c)
	}
}

// TestRefreshAheadLearnsLikeALookup: what a refresh learns counts as a
// lookup's answer. A session that is gone or refused loses its entry at
// once; an Ory failure or a 429 leaves the entry to expire as it would
// have (and it is not refreshed again).
func TestRefreshAheadLearnsLikeALookup(t *testing.T) {
	inactive := orytest.ActiveSession("s1", "a@example.com")
	inactive.Active = new(false)
	for _, tc := range []struct {
		name  string
		reply orytest.Reply
		kept  bool
	}{
		{"401 removes the entry", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()}, false},
		{"inactive removes the entry", orytest.Reply{Body: sessionBody(t, inactive)}, false},
		{"403 removes the entry", orytest.Reply{Status: http.StatusForbidden, Body: []byte(`{"error":{"id":"session_aal2_required"}}`)}, false},
		{"500 keeps it until it expires", orytest.Reply{Status: http.StatusInternalServerError}, true},
		{"429 keeps it until it expires", orytest.Reply{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshRig(t, nil)
			r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			r.mustUse("tok", "s1")
			r.ory.Reply("tok", tc.reply)
			r.clock.advance(lateInLife)
			r.mustUse("tok", "s1") // served from the cache; starts the refresh
			r.settle()
			if got := r.entryFor("tok") != nil; got != tc.kept {
				t.Fatalf("entry kept = %v, want %v", got, tc.kept)
			}
			r.clock.advance(2 * time.Second) // still within the old entry's life (and past the 429's Retry-After)
			d := r.use("tok")
			r.settle()
			if d.Allow != tc.kept {
				t.Fatalf("allow=%v (%d) after the refresh, want %v", d.Allow, d.Status, tc.kept)
			}
			wantCalls := 2
			if !tc.kept {
				wantCalls = 3 // the entry is gone: the request asked Ory
			}
			if c := r.ory.Calls(); c != wantCalls {
				t.Fatalf("%d whoami calls, want %d (a failed refresh is not tried again)", c, wantCalls)
			}
			if tc.kept {
				r.clock.advance(refreshTTL) // the old entry expired
				if d := r.use("tok"); d.Allow {
					t.Fatal("the entry outlived its lifetime after a failed refresh")
				}
			}
		})
	}
}

// TestNoRefreshAhead: idle entries are never refreshed (an entry is
// refreshed only when it is used late in its life), and NoRefreshAhead
// turns refresh ahead off: the first request after the expiry asks Ory.
func TestNoRefreshAhead(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  bool
		use  bool // use the entry late in its life
	}{
		{"idle entry", false, false},
		{"NoRefreshAhead", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshRig(t, func(c *Config) { c.Cache.NoRefreshAhead = tc.off })
			r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			r.mustUse("tok", "s1")
			r.clock.advance(lateInLife)
			if tc.use {
				r.mustUse("tok", "s1")
			}
			r.settle()
			if c := r.ory.Calls(); c != 1 {
				t.Fatalf("%d whoami calls, want 1: no refresh", c)
			}
			r.clock.advance(refreshTTL - lateInLife)
			r.mustUse("tok", "s1")
			if got := r.cacheControls(); !slices.Equal(got, []string{"", ""}) {
				t.Fatalf("Cache-Control of the whoami calls: %q, want two plain lookups", got)
			}
		})
	}
}

// TestRefreshNeverOutlivesItsBounds: a refreshed entry is bounded like any
// other by the session's expires_at, Ory-Session-Cache-For less Age, and
// the TTL, counted from the refresh's question.
func TestRefreshNeverOutlivesItsBounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		expires time.Duration // from the first question; 0: an hour
		header  http.Header
		fresh   time.Duration // of the refreshed entry, from the first question
	}{
		{"TTL", 0, nil, lateInLife + refreshTTL},
		{"expires_at", 70 * time.Second, nil, 70 * time.Second},
		{"Ory-Session-Cache-For less Age", 0, http.Header{"Ory-Session-Cache-For": {"20"}, "Age": {"5"}}, lateInLife + 15*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshRig(t, nil)
			t0 := r.clock.now()
			s := orytest.ActiveSession("s1", "a@example.com")
			if tc.expires != 0 {
				s.ExpiresAt = new(t0.Add(tc.expires))
			}
			r.ory.Session("tok", s)
			r.mustUse("tok", "s1")
			r.ory.Reply("tok", orytest.Reply{Body: sessionBody(t, s), Header: tc.header})
			r.clock.advance(lateInLife)
			r.mustUse("tok", "s1")
			r.settle()
			e := r.entryFor("tok")
			if e == nil || e.session == nil {
				t.Fatal("the refreshed session was not cached")
			}
			if got := time.Duration(e.fresh - t0.UnixNano()); got != tc.fresh {
				t.Fatalf("the refreshed entry is fresh until %v, want %v", got, tc.fresh)
			}
			if want := e.fresh - (e.fresh-t0.Add(lateInLife).UnixNano())/refreshShare; e.refresh != want {
				t.Fatalf("the refreshed entry is refreshed from %v, want the last quarter of its life from %v",
					time.Duration(e.refresh-t0.UnixNano()), time.Duration(want-t0.UnixNano()))
			}
		})
	}
}

// TestRefreshOfAForgottenSession: a refresh is never started for a
// session forgotten before it is used, and an answer to a refresh in
// flight when its session or credential is forgotten is not cached.
func TestRefreshOfAForgottenSession(t *testing.T) {
	logout := func(r *refreshRig) {
		if d := r.g.LogoutRedirect(context.Background(), &Request{Method: http.MethodPost, URI: "/logout", SessionToken: "tok"}); d.Status != http.StatusNoContent {
			r.t.Fatalf("logout: %d", d.Status)
		}
	}
	forget := func(r *refreshRig) {
		if err := r.g.ForgetSession(context.Background(), "s1"); err != nil {
			r.t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		forget   func(*refreshRig)
		inFlight bool // forgotten while the refresh is in flight (else before the use)
	}{
		{"ForgetSession before the use", forget, false},
		{"ForgetSession during the refresh", forget, true},
		{"logout during the refresh", logout, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshRig(t, nil)
			r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			r.mustUse("tok", "s1")
			r.clock.advance(lateInLife)
			if !tc.inFlight {
				tc.forget(r)
				r.ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
				if d := r.use("tok"); d.Allow {
					t.Fatal("a forgotten session was served")
				}
				if got := r.cacheControls(); !slices.Equal(got, []string{"", ""}) {
					t.Fatalf("Cache-Control of the whoami calls: %q, want two plain lookups (no refresh)", got)
				}
				return
			}
			release := hold(r.ory, "tok", orytest.Reply{Body: sessionBody(t, orytest.ActiveSession("s1", "a@example.com"))})
			defer release()
			r.mustUse("tok", "s1") // starts the refresh; its answer is held
			tc.forget(r)
			release()
			r.settle()
			if e := r.entryFor("tok"); e != nil && e.session != nil {
				t.Fatal("the answer to a refresh in flight when its session was forgotten was cached")
			}
			r.ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
			if d := r.use("tok"); d.Allow {
				t.Fatal("the forgotten session was served")
			}
		})
	}
}

// TestRefreshSetCookieHandedOn: a Set-Cookie that Ory sends with a
// refreshed answer (Kratos extending the session cookie) reaches the
// credential's next request, once.
func TestRefreshSetCookieHandedOn(t *testing.T) {
	r := newRefreshRig(t, nil)
	req := func() *Request { return &Request{URI: "/", Cookies: []string{"ory_kratos_session=c1"}} }
	r.ory.Session("c1", orytest.ActiveSession("s1", "a@example.com"))
	if d := r.rt.Authenticate(context.Background(), req()); !d.Allow {
		t.Fatalf("denied: %d", d.Status)
	}
	const extended = "ory_kratos_session=c1; Path=/; Max-Age=86400; HttpOnly"
	r.ory.Reply("c1", orytest.Reply{Body: sessionBody(t, orytest.ActiveSession("s1", "a@example.com")),
		Header: http.Header{"Set-Cookie": {extended}}})
	r.clock.advance(lateInLife)
	var got [][]string
	for i := range 3 {
		d := r.rt.Authenticate(context.Background(), req())
		if !d.Allow {
			t.Fatalf("request %d denied: %d", i, d.Status)
		}
		got = append(got, d.Header.Values("Set-Cookie"))
		if i == 0 {
			r.settle()
		}
	}
	if want := [][]string{nil, {extended}, nil}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("Set-Cookie per request: %q, want %q (the refresh's, on the next request only)", got, want)
	}
}

// TestRefreshNeverWaitsForALookupSlot: when MaxConcurrentLookups calls are
// in flight, or the guard is backing off after a 429, a request late in
// its entry's life is served at once and starts no refresh; a later use
// does, once a slot is free again.
func TestRefreshNeverWaitsForALookupSlot(t *testing.T) {
	for _, tc := range []struct {
		name        string
		block, free func(*refreshRig)
	}{
		{"limit reached", func(r *refreshRig) { r.g.sem <- struct{}{} }, func(r *refreshRig) { <-r.g.sem }},
		{"backing off", func(r *refreshRig) { r.g.backoff.Limited(5, r.clock.now().UnixNano()) }, func(r *refreshRig) { r.clock.advance(5 * time.Second) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshRig(t, func(c *Config) { c.MaxConcurrentLookups = 1 })
			r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			r.mustUse("tok", "s1")
			r.clock.advance(lateInLife - 5*time.Second)
			tc.block(r)
			r.mustUse("tok", "s1") // must not block: the only slot is taken
			r.settle()
			if c := r.ory.Calls(); c != 1 {
				t.Fatalf("%d whoami calls, want 1: no refresh while blocked", c)
			}
			tc.free(r)
			r.clock.advance(time.Second)
			r.mustUse("tok", "s1")
			r.settle()
			if got := r.cacheControls(); !slices.Equal(got, []string{"", "max-age=0"}) {
				t.Fatalf("Cache-Control of the whoami calls: %q, want a lookup and then a refresh", got)
			}
		})
	}
}

// TestRefreshCollapsesWithRequests: a request whose entry expired while
// its refresh is in flight waits for the refresh instead of asking Ory
// again, and a request that misses while a lookup is in flight starts no
// refresh of its own.
func TestRefreshCollapsesWithRequests(t *testing.T) {
	r := newRefreshRig(t, nil)
	r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	r.mustUse("tok", "s1")
	release := hold(r.ory, "tok", orytest.Reply{Body: sessionBody(t, orytest.ActiveSession("s1", "a@example.com"))})
	defer release()
	r.clock.advance(lateInLife)
	r.mustUse("tok", "s1") // starts the refresh
	r.clock.advance(refreshTTL - lateInLife + time.Second)
	done := make(chan Decision)
	go func() { done <- r.use("tok") }() // expired entry: joins the refresh in flight
	release()
	if d := <-done; !d.Allow {
		t.Fatalf("denied: %d", d.Status)
	}
	r.settle()
	if c := r.ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2: the request after the expiry shares the refresh", c)
	}
}

// TestRefreshAdoptsTheSharedTier: a refresh reads the shared tier first and
// adopts a fresher answer another instance wrote, without asking Ory; an
// entry no fresher than its own is not adopted.
func TestRefreshAdoptsTheSharedTier(t *testing.T) {
	tier := newTestTier()
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	cfg := Config{OryURL: ory.URL, Timeout: 5 * time.Second, Cache: CacheConfig{TTL: refreshTTL, Shared: tier}}
	a, clock := clockedGuard(t, cfg)
	b, _ := clockedGuard(t, cfg)
	b.now = clock.now // one fleet, one time
	defer a.Close()
	defer b.Close()
	use := func(g *Guard) {
		t.Helper()
		if d := g.Route().Authenticate(context.Background(), tokenRequest("tok")); !d.Allow {
			t.Fatalf("denied: %d", d.Status)
		}
	}
	use(a) // asks Ory, shares
	use(b) // adopts from the tier
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls, want 1", c)
	}
	clock.advance(lateInLife)
	use(a) // refresh: the tier holds nothing fresher: asks Ory, shares
	a.ahead.wg.Wait()
	use(b) // refresh: adopts a's refreshed answer
	b.ahead.wg.Wait()
	if c := ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2: b adopts a's refresh from the tier", c)
	}
	key := b.key(&credential{kind: credToken, token: "tok"})
	eb, _ := b.cache.GetIfPresent(key)
	ea, _ := a.cache.GetIfPresent(key)
	if eb == nil || ea == nil || eb.fresh != ea.fresh || eb.fresh <= clock.now().UnixNano()+int64(refreshTTL-time.Second) {
		t.Fatal("b did not adopt a's refreshed entry")
	}
}

// TestReasksCarryMaxAgeZero: Cache-Control: max-age=0 goes with every
// deliberate re-ask (refresh ahead, the re-check of a cached session that
// fails a route's policy) and with no first lookup, no lookup after an
// expiry and no probe during a backoff after a 429.
func TestReasksCarryMaxAgeZero(t *testing.T) {
	old := orytest.ActiveSession("s1", "a@example.com")
	old.AuthenticatedAt = new(time.Now().Add(-2 * time.Hour))
	for _, tc := range []struct {
		name    string
		session client.Session
		run     func(r *refreshRig)
		want    []string
	}{
		{"first lookup", orytest.ActiveSession("s1", "a@example.com"), func(r *refreshRig) { r.use("tok") }, []string{""}},
		{"lookup after the expiry", orytest.ActiveSession("s1", "a@example.com"), func(r *refreshRig) {
			r.use("tok")
			r.clock.advance(refreshTTL)
			r.use("tok")
		}, []string{"", ""}},
		{"refresh ahead", orytest.ActiveSession("s1", "a@example.com"), func(r *refreshRig) {
			r.use("tok")
			r.clock.advance(lateInLife)
			r.use("tok")
			r.settle()
		}, []string{"", "max-age=0"}},
		{"step-up re-check", orytest.ActiveSession("s1", "a@example.com"), func(r *refreshRig) {
			rt := r.g.Route(RequireAAL2())
			for range 2 { // the second is served from the cache, fails the policy and is re-checked
				rt.Authenticate(context.Background(), tokenRequest("tok"))
			}
		}, []string{"", "max-age=0"}},
		{"max-age re-check", old, func(r *refreshRig) {
			rt := r.g.Route(MaxAuthAge(time.Hour))
			for range 2 {
				rt.Authenticate(context.Background(), tokenRequest("tok"))
			}
		}, []string{"", "max-age=0"}},
		{"probe after a 429", orytest.ActiveSession("s1", "a@example.com"), func(r *refreshRig) {
			r.ory.ReplyAll(&orytest.Reply{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"30"}}})
			r.use("other")
			r.ory.ReplyAll(nil)
			r.clock.advance(time.Second) // the next probe may go
			r.use("tok")
		}, []string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshRig(t, nil)
			r.ory.Session("tok", tc.session)
			tc.run(r)
			if got := r.cacheControls(); !slices.Equal(got, tc.want) {
				t.Fatalf("Cache-Control of the whoami calls: %q, want %q", got, tc.want)
			}
			// Besides Cache-Control, a re-ask carries what a first lookup
			// does, and nothing else.
			var names []string
			for _, h := range r.ory.Headers() {
				h.Del("Cache-Control")
				n := slices.Sorted(maps.Keys(h))
				if names == nil {
					names = n
				} else if !slices.Equal(n, names) {
					t.Fatalf("whoami calls carry the headers %q and %q", names, n)
				}
			}
		})
	}
}

// refreshObserver records the Refresh flag of every whoami call.
type refreshObserver struct {
	NopObserver
	mu             sync.Mutex
	starts, dones  []bool
	refreshSession string
}

func (o *refreshObserver) WhoamiStart(ctx context.Context, w WhoamiRequest) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.starts = append(o.starts, w.Refresh)
	return ctx
}

func (o *refreshObserver) WhoamiDone(_ context.Context, w WhoamiCall) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dones = append(o.dones, w.Refresh)
	if w.Refresh {
		o.refreshSession = w.SessionID
	}
}

// TestObserverSeesRefreshes: a refresh is a whoami call with Refresh set,
// from start to end; a lookup is not.
func TestObserverSeesRefreshes(t *testing.T) {
	o := &refreshObserver{}
	r := newRefreshRig(t, func(c *Config) { c.Observer = o })
	r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	r.mustUse("tok", "s1")
	r.clock.advance(lateInLife)
	r.mustUse("tok", "s1")
	r.settle()
	o.mu.Lock()
	defer o.mu.Unlock()
	if want := []bool{false, true}; !slices.Equal(o.starts, want) || !slices.Equal(o.dones, want) || o.refreshSession != "s1" {
		t.Fatalf("Refresh at start %v and at end %v (session %q), want %v", o.starts, o.dones, o.refreshSession, want)
	}
}

// TestCloseStopsRefreshes: Close cancels a refresh in flight and waits for
// it (its answer is not cached), and no refresh starts after it.
func TestCloseStopsRefreshes(t *testing.T) {
	r := newRefreshRig(t, nil)
	r.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	first := r.mustUse("tok", "s1")
	release := hold(r.ory, "tok", orytest.Reply{Body: sessionBody(t, orytest.ActiveSession("s1", "a@example.com"))})
	defer release()
	r.clock.advance(lateInLife)
	r.mustUse("tok", "s1") // starts the refresh; its answer is held
	if err := r.g.Close(); err != nil {
		t.Fatal(err)
	}
	if e := r.entryFor("tok"); e == nil || e.session != first.Session {
		t.Fatal("a refresh canceled by Close replaced the entry")
	}
	r.clock.advance(time.Second)
	r.mustUse("tok", "s1")
	r.g.flightsMu.Lock()
	n := len(r.g.flights)
	r.g.flightsMu.Unlock()
	if n != 0 {
		t.Fatal("a refresh started after Close")
	}
}

// TestDetachSharesNoMemory: the credential a refresh keeps does not change
// when the request's memory is reused (fasthttp hands out strings that
// alias its buffers).
func TestDetachSharesNoMemory(t *testing.T) {
	buf := []byte("tokenory_kratos_sessionc1ory_session_xc2c3c4c5")
	alias := func(i, j int) string { return unsafe.String(&buf[i], j-i) }
	c := credential{kind: credCookie}
	c.add(cookiePair{alias(5, 23), alias(23, 25)})
	c.add(cookiePair{alias(25, 38), alias(38, 40)})
	for i := range 3 {
		c.add(cookiePair{"extra" + string(rune('a'+i)), alias(40+2*i, 42+2*i)})
	}
	tok := credential{kind: credToken, token: alias(0, 5)}
	want, wantTok := c.cookieHeader(), strings.Clone(tok.token)
	d, dt := c.detach(), tok.detach()
	for i := range buf {
		buf[i] = 'x'
	}
	if got := d.cookieHeader(); got != want || dt.token != wantTok || d.n != 5 {
		t.Fatalf("detached cookies %q, token %q after the request's memory was reused; want %q, %q", got, dt.token, want, wantTok)
	}
}

// testTier is an in-process SharedCache for one test's fleet.
type testTier struct {
	mu     sync.Mutex
	values map[string][]byte
}

func newTestTier() *testTier { return &testTier{values: map[string][]byte{}} }

func (t *testTier) KeySecrets() [][]byte {
	return [][]byte{[]byte("refresh-test-fleet-secret-0123456789")}
}

func (t *testTier) Get(_ context.Context, keys [][]byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if v, ok := t.values[string(k)]; ok {
			return v, nil
		}
	}
	return nil, nil
}

func (t *testTier) Set(_ context.Context, key, _, value []byte, _ time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.values[string(key)] = value
	return nil
}

func (t *testTier) Delete(context.Context, [][]byte) error         { return nil }
func (t *testTier) DeleteSessions(context.Context, [][]byte) error { return nil }
func (t *testTier) Subscribe(func(Invalidation))                   {}
