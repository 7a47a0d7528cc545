package core

import (
	"context"
	"math"
	"strings"
	"sync"

	client "github.com/ory/client-go"
)

// refreshShare sets where refresh ahead starts: a use in the last
// 1/refreshShare of an entry's lifetime (from the question that fetched it,
// or from its adoption from the shared tier, until it stops being fresh)
// refreshes it in the background.
//
// A quarter, because it is both long enough and short enough:
//
//   - Long enough for the refresh to land before the entry expires: with
//     DefaultCacheCap (a minute) a refresh has 15 s to come back, and with
//     a 1 s TTL it has 250 ms, so a whoami round trip of hundreds of
//     milliseconds (Ory Network from a far region) still lands in time. A
//     request that comes after an expiry all the same joins the refresh in
//     flight instead of asking again.
//   - Short enough that an active session costs about one whoami per TTL:
//     a refresh fetches a whole new lifetime, so a session used all the
//     time is asked about every three quarters of its lifetime, at most 4/3
//     of the whoami calls it costs without refresh ahead (a half would
//     double them).
//
// A revoked session is still denied within one lifetime of the last answer
// that called it active, as without refresh ahead: a refresh that learns of
// the revocation removes the entry early, one that was answered before it
// lasts no longer than any other entry.
const refreshShare = 4

// refresher runs refresh ahead: the background whoami calls that keep the
// entries of active sessions fresh (CacheConfig.NoRefreshAhead).
type refresher struct {
	ctx    context.Context    // the parent of every refresh; ended by Close
	stop   context.CancelFunc // ends ctx
	wg     sync.WaitGroup     // refreshes running
	closed bool               // set by Close under Guard.flightsMu: no refresh starts
}

// initRefresh turns refresh ahead on for a cache, unless cc turns it off.
func (g *Guard) initRefresh(cc CacheConfig) {
	if cc.NoRefreshAhead {
		return
	}
	r := &refresher{}
	r.ctx, r.stop = context.WithCancel(context.Background())
	g.ahead = r
}

// closeRefresh stops refresh ahead: no refresh starts any more, and the
// ones in flight are canceled and waited for (their answers are not
// cached).
func (g *Guard) closeRefresh() {
	r := g.ahead
	if r == nil {
		return
	}
	g.flightsMu.Lock()
	r.closed = true
	g.flightsMu.Unlock()
	r.stop()
	r.wg.Wait()
}

// newEntry is the cache entry for session s, fresh until fresh and kept
// until evict (unix ns), whose lifetime started at start: the moment the
// question that fetched it was sent, or when it was adopted from the shared
// tier. It is refreshed ahead when used from refresh on (refreshShare).
func (g *Guard) newEntry(s *client.Session, start, fresh, evict int64) *entry {
	e := &entry{session: s, fresh: fresh, evict: evict, refresh: math.MaxInt64}
	if g.ahead != nil && fresh > start {
		e.refresh = fresh - (fresh-start)/refreshShare
	}
	return e
}

// refreshAhead is called by a request that is served entry e (found under
// key for credential c) late in its lifetime. It starts one background
// refresh of e, unless one already started for e, or a lookup for the
// credential is in flight (the refresh would only duplicate it), or the
// guard is backing off after a 429, or MaxConcurrentLookups calls are in
// flight (the request must never wait for a refresh): in the last three
// cases a later use tries again. It never blocks.
func (g *Guard) refreshAhead(key sessionKey, e *entry, c *credential, now int64) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return // one refresh per entry: the first use in its window
	}
	if g.backoff.Active(now) || !g.startRefresh(key, e, c) {
		e.refreshing.Store(false)
	}
}

// startRefresh takes a lookup slot and registers the refresh as the
// credential's flight, so that requests that miss meanwhile wait for it
// rather than ask again, and a forget discards it. It refuses when the
// cache no longer holds e: e was forgotten (a tombstone took its place) or
// replaced.
func (g *Guard) startRefresh(key sessionKey, e *entry, c *credential) bool {
	fwd, ok := c.forward()
	if !ok {
		return false
	}
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		default:
			return false
		}
	}
	g.flightsMu.Lock()
	cur, held := g.cache.GetIfPresent(key)
	_, inFlight := g.flights[key]
	if g.ahead.closed || inFlight || !held || cur != e {
		g.flightsMu.Unlock()
		if g.sem != nil {
			<-g.sem
		}
		return false
	}
	f := &flight{done: make(chan struct{}), refresh: true}
	g.flights[key] = f
	g.ahead.wg.Add(1)
	g.flightsMu.Unlock()
	own := fwd.detach()
	go g.refresh(key, &own, e, f)
	return true
}

// refresh is one background refresh of entry old: flight f, holding a
// lookup slot. It runs detached from the request that started it, under
// its own timeout (lookup's), until Close. What it learns counts as a
// lookup's answer: a session replaces the entry (Set-Cookie from Ory kept
// in it for the credential's next request); an answer that the session is
// gone or refused (401, inactive, 403) removes the entry; an Ory failure,
// a timeout or a 429 leaves it to expire as it would have.
func (g *Guard) refresh(key sessionKey, c *credential, old *entry, f *flight) {
	defer g.ahead.wg.Done()
	defer g.land(key, f)
	defer func() {
		if g.sem != nil {
			<-g.sem
		}
	}()
	ctx := reask(g.ahead.ctx)
	if g.shared != nil {
		// Another instance may have refreshed the session already: adopt
		// its fresher answer instead of asking Ory again.
		if res, ok := g.fromShared(ctx, key, c, f, old.fresh); ok {
			f.res = res
			return
		}
	}
	f.res = g.ask(ctx, key, c, f)
	if k := f.res.kind; k != reasonSession && reasons[k].oryAnswered {
		g.drop(key, old)
	}
}

// drop removes entry old from the cache, unless it was replaced meanwhile
// (by a tombstone or a newer answer). It holds flightsMu, as store and
// forget do.
func (g *Guard) drop(key sessionKey, old *entry) {
	g.flightsMu.Lock()
	defer g.flightsMu.Unlock()
	if cur, ok := g.cache.GetIfPresent(key); ok && cur == old {
		g.cache.Invalidate(key)
	}
}

// detach returns a copy of c that shares no memory with the request it
// came from (adapters such as Fiber reuse a request's memory once the
// handler returns), for a refresh that outlives the request.
func (c *credential) detach() credential {
	d := credential{kind: c.kind, token: strings.Clone(c.token), size: c.size, checked: c.checked, full: c.full}
	for i := range c.n {
		p := c.pair(i)
		p = cookiePair{name: strings.Clone(p.name), value: strings.Clone(p.value)}
		if i < inlineCookies {
			d.cookies[i] = p
		} else {
			d.extra = append(d.extra, p)
		}
	}
	d.n = c.n
	return d
}

// reaskKey marks a whoami call that asks Ory again on purpose.
type reaskKey struct{}

// reask marks the whoami calls made under ctx as deliberate re-asks about a
// session the guard holds (refresh ahead, a re-check for a route's policy):
// they carry Cache-Control: max-age=0, so that Ory Network's edge session
// cache answers fresh rather than with the copy the guard already has.
// First lookups, and the probes during a backoff after a 429, do not.
func reask(ctx context.Context) context.Context {
	return context.WithValue(ctx, reaskKey{}, true)
}

// reasking reports whether a call to Ory under ctx is a re-ask.
func reasking(ctx context.Context) bool {
	return ctx.Value(reaskKey{}) != nil
}
