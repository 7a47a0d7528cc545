package reliability_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/faultproxy"
	"github.com/oryguard/oryguard/internal/e2e/reliability/rig"
)

// refreshObserver counts what the guard reports: looks in the cache by
// result, whoami calls by kind, and the whoami calls in flight.
type refreshObserver struct {
	core.NopObserver
	mu        sync.Mutex
	cache     [core.NumCacheResults]int
	lookups   int // whoami calls made for a request
	refreshes int // whoami calls made ahead, in the background
	inFlight  int
}

func (o *refreshObserver) CacheLookup(_ context.Context, r core.CacheResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cache[r]++
}

func (o *refreshObserver) WhoamiStart(ctx context.Context, w core.WhoamiRequest) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inFlight++
	if w.Refresh {
		o.refreshes++
	} else {
		o.lookups++
	}
	return ctx
}

func (o *refreshObserver) WhoamiDone(context.Context, core.WhoamiCall) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inFlight--
}

func (o *refreshObserver) whoamiInFlight() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.inFlight > 0
}

// TestRefreshAheadActiveUserNeverWaits: a user clicking through several
// cache lifetimes with every whoami answer held back by the fault proxy
// in front of Kratos. With refresh ahead only the first request asks Ory:
// every later one is a cache hit (the observer's counts), some of them
// answered while a refresh was held at the proxy, and the proxy counts
// about one whoami per three quarters of the TTL. Without it, every TTL
// boundary costs a request that waits for whoami. Then the session is
// revoked through Kratos' admin API, and it is denied once its entry's
// lifetime has passed.
func TestRefreshAheadActiveUserNeverWaits(t *testing.T) {
	srv := sharedKratos(t)
	const (
		ttl    = 2 * time.Second
		lag    = 50 * time.Millisecond // whoami's round trip, held by the proxy
		click  = 20 * time.Millisecond
		period = 5 * time.Second // 2.5 lifetimes
	)
	for _, tc := range []struct {
		name string
		off  bool
	}{
		{"refresh ahead", false},
		{"NoRefreshAhead", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			as, err := srv.RegisterAPI(ctx, email("refresh"), password)
			check(t, err)
			p, err := faultproxy.New(srv.PublicURL())
			check(t, err)
			t.Cleanup(func() { _ = p.Close() })
			check(t, p.Set(faultproxy.Lag(lag)))
			obs := &refreshObserver{}
			a := newApp(t, core.Config{OryURL: p.URL(), Timeout: 5 * time.Second, Observer: obs,
				Cache: core.CacheConfig{TTL: ttl, NoRefreshAhead: tc.off}})
			t.Cleanup(func() { _ = a.Guard.Close() })

			servedDuringWhoami := 0
			start := time.Now()
			for time.Since(start) < period {
				r := a.Get(ctx, rig.PathRequired, token(as), true)
				if r.Status != 200 || r.SessionID != as.SessionID {
					t.Fatalf("a live session was not let in: %s", r.Describe())
				}
				if obs.whoamiInFlight() {
					servedDuringWhoami++
				}
				time.Sleep(click)
			}
			check(t, a.Guard.Close()) // waits for a refresh in flight
			obs.mu.Lock()
			cache, lookups, refreshes := obs.cache, obs.lookups, obs.refreshes
			obs.mu.Unlock()
			misses := cache[core.CacheMiss] + cache[core.CacheStale]
			calls := p.RequestsTo("/sessions/whoami")
			t.Logf("%d hits, %d misses, %d lookups, %d refreshes, %d whoami at the proxy, %d served while a whoami was held",
				cache[core.CacheHit], misses, lookups, refreshes, calls, servedDuringWhoami)
			if calls != int64(lookups+refreshes) {
				t.Errorf("the proxy counted %d whoami calls, the observer %d", calls, lookups+refreshes)
			}
			if tc.off {
				if refreshes != 0 || misses < int(period/ttl)+1 {
					t.Errorf("without refresh ahead: %d refreshes and %d misses, want none and one per lifetime (at least %d)",
						refreshes, misses, int(period/ttl)+1)
				}
				return
			}
			// One first lookup; every later request a hit, a few answered
			// while the proxy held a refresh's answer.
			if misses != 1 || lookups != 1 || servedDuringWhoami == 0 {
				t.Errorf("with refresh ahead: %d misses, %d lookups, %d requests served while a whoami was held; want 1, 1 and some",
					misses, lookups, servedDuringWhoami)
			}
			// About one whoami per three quarters of a lifetime.
			if most := int(period/(ttl*3/4)) + 1; refreshes < int(period/ttl) || refreshes > most {
				t.Errorf("%d refreshes in %v with a %v TTL, want between %d and %d", refreshes, period, ttl, int(period/ttl), most)
			}

			// Revocation through Kratos' admin API: denied once the
			// entry's lifetime has passed.
			b := newApp(t, core.Config{OryURL: p.URL(), Timeout: 5 * time.Second,
				Cache: core.CacheConfig{TTL: ttl}})
			t.Cleanup(func() { _ = b.Guard.Close() })
			check(t, p.Set(faultproxy.Pass()))
			if r := b.Get(ctx, rig.PathRequired, token(as), true); r.Status != 200 {
				t.Fatalf("before the revocation: %s", r.Describe())
			}
			check(t, srv.RevokeSession(ctx, as.SessionID))
			revoked := time.Now()
			denied := time.Time{}
			for time.Since(revoked) < ttl+ttl/4 {
				r := b.Get(ctx, rig.PathRequired, token(as), true)
				switch {
				case r.Status == 401 && denied.IsZero():
					denied = r.Sent
				case r.Status == 200 && r.Sent.Sub(revoked) > ttl:
					t.Fatalf("the revoked session was let in %v after the revocation (TTL %v)", r.Sent.Sub(revoked), ttl)
				case r.Status != 200 && r.Status != 401:
					t.Fatalf("unexpected answer: %s", r.Describe())
				}
				time.Sleep(click)
			}
			if denied.IsZero() {
				t.Fatal("the revoked session was never denied")
			}
			t.Logf("revoked session denied %v after the revocation", denied.Sub(revoked))
		})
	}
}
