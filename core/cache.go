package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	client "github.com/ory/client-go"
)

// entry is one cached session.
type entry struct {
	session *client.Session
	fresh   int64      // unix ns: served without asking Ory until then
	evict   int64      // unix ns: kept (for stale-if-error) until then
	refresh int64      // unix ns: a use from then on refreshes it ahead (cache_refresh.go); MaxInt64: never
	sid     sessionKey // keyed hash of session.Id (Guard.sidHash); zero in a tombstone

	// cookie is the Set-Cookie a refresh brought (Kratos extending the
	// session cookie), handed to the first request served this entry:
	// handed tells whether it was.
	cookie     map[string][]string
	handed     atomic.Bool
	refreshing atomic.Bool // a refresh of this entry started
}

// initCache builds the session cache CacheConfig describes: none when it
// is Disabled; otherwise one whose entries live at most TTL, or, with TTL
// zero, only as long as Ory-Session-Cache-For allows and at most
// DefaultCacheCap (see lifetime).
func (g *Guard) initCache(cc CacheConfig) error {
	if cc.Shared != nil && (cc.Disabled || cc.TTL <= 0) {
		// The fleet shares answers for one TTL it chooses, not Ory's
		// per-answer hints alone.
		return fmt.Errorf("%w: Cache.Shared needs the in-process cache with a Cache.TTL (and no Cache.Disabled)", ErrInvalidConfig)
	}
	if cc.Disabled {
		return nil
	}
	if cc.TTL < 0 || cc.MaxEntries < 0 || cc.StaleIfError < 0 {
		return fmt.Errorf("%w: Cache.TTL, Cache.MaxEntries and Cache.StaleIfError must not be negative (set Cache.Disabled to turn the cache off)", ErrInvalidConfig)
	}
	n := cc.MaxEntries
	if n == 0 {
		n = DefaultCacheMaxEntries
	}
	g.ttl, g.stale, g.followOry = cc.TTL, cc.StaleIfError, cc.TTL == 0
	if g.followOry {
		g.ttl = DefaultCacheCap
	}
	// A tombstone outlives any entry asked about before it: an entry is
	// fresh for at most the TTL (or DefaultCacheCap) from its question, and
	// kept for StaleIfError after that.
	g.forgot = newForgotten(n, int64(g.ttl+g.stale+cacheClockResolution))
	c, err := otter.New(&otter.Options[sessionKey, *entry]{
		MaximumSize: n,
		// Run the cache's maintenance on the calling goroutine (amortised,
		// rare) instead of waking a goroutine from the request path.
		Executor: func(fn func()) { fn() },
		// A coarse clock (clock.go): the guard checks deadlines itself, so
		// otter's expiry only frees memory, never early.
		Clock: cacheClock(),
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[sessionKey, *entry]) time.Duration {
			return time.Duration(e.Value.evict-time.Now().UnixNano()) + cacheClockResolution
		}),
		// Keeps the session index (forgotten.go) to what the cache holds.
		OnDeletion: func(e otter.DeletionEvent[sessionKey, *entry]) { g.forgot.onDeletion(e.Key, e.Value) },
	})
	if err != nil {
		return fmt.Errorf("oryguard: create session cache: %w", err)
	}
	g.cache = c
	g.initRefresh(cc)
	return nil
}

// session finds the session for a credential: from the cache when it is
// on, otherwise from one whoami call shared by every concurrent request
// with the same credential.
func (g *Guard) session(ctx context.Context, c *credential, at time.Time) result {
	key := g.key(c)
	now := at.UnixNano()
	var cached *entry
	if g.cache != nil {
		if e, ok := g.cache.GetIfPresent(key); ok {
			if now < e.fresh {
				res := result{kind: reasonSession, session: e.session, cached: true}
				if now >= e.refresh {
					g.refreshAhead(key, e, c, now) // never waits
				}
				if e.cookie != nil && e.handed.CompareAndSwap(false, true) {
					res.header = e.cookie // a refresh's Set-Cookie, once
				}
				g.observeCache(ctx, e, true)
				return res
			}
			cached = e
		}
		g.observeCache(ctx, cached, false)
	}
	fwd, ok := c.forward()
	if !ok {
		return result{kind: reasonNoSession} // never ask Ory about garbage
	}
	if g.shared != nil && fwd.n != c.n {
		return g.session(ctx, &fwd, at) // the fleet knows a credential by what Ory sees
	}
	var res result
	if wait := g.backoffWait(now); wait > 0 { // with a shared tier, fetch asks it first
		res = result{kind: reasonRateLimited, retryAfter: wait}
	} else {
		res = g.collapse(ctx, key, &fwd)
	}
	if cached != nil && now < cached.evict && usable(cached.session, time.Unix(0, now)) {
		if reasons[res.kind].oryFailing { // never the guard's own saturation (reasonBusy)
			g.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: Ory is failing; serving a stale cached session",
				slog.String("session_id", cached.session.Id), slog.Int("ory_result", int(res.kind)))
			return result{kind: reasonSession, session: cached.session}
		}
	}
	return res
}

// forgetCredential is logout's forget (logout.go): it ends, at once, what
// this guard (and, with a shared tier, the fleet) holds for a credential
// that logged out, as told by what the guard knew of it (k) and whether Ory
// confirmed the logout.
//
//   - When the session's ID is known, the session is forgotten by ID as
//     ForgetSession does: every spelling of it (other extra cookies, older
//     encodings of the session cookie, its token), here and on every
//     instance.
//   - Otherwise, when the credential was in flight or Ory confirmed the
//     logout, its own keys are forgotten here and in the fleet.
//   - Otherwise (a credential nobody knew, such as a random token) nothing
//     is touched, here or in the fleet: a logout costs what it costs Ory.
//
// A lookup in flight for the credential was asked before it ended; its
// answer still reaches the requests already waiting for it, but it is never
// cached and no later request joins it.
func (g *Guard) forgetCredential(ctx context.Context, k *known, confirmed bool) {
	if k.sid == "" && !k.seen && !confirmed {
		return
	}
	for _, key := range k.keys {
		g.forgetKey(key)
	}
	if k.sid != "" {
		if err := g.forgetSession(ctx, k.sid); err != nil {
			g.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: could not tell the fleet about a logout; other instances forget it within the TTL",
				slog.String("error", err.Error()))
		}
		return
	}
	g.forgetShared(ctx, k)
}

// forgetKey forgets one key in this process: its entry and a lookup in
// flight for it. The key stays buried for one TTL (see bury): a lookup that
// starts before Kratos has ended the session (a browser has yet to follow
// the logout URL) is not cached either.
func (g *Guard) forgetKey(key sessionKey) {
	g.flightsMu.Lock()
	defer g.flightsMu.Unlock()
	if f, ok := g.flights[key]; ok {
		f.discarded = true
		delete(g.flights, key)
	}
	if g.cache != nil {
		g.bury(key)
	}
}

// store caches the session a lookup found, unless forget discarded the
// lookup, buried the key or forgot the session (by ID) meanwhile, and
// reports whether it did. It holds flightsMu, as forget and forgetSID do, so
// that an entry is never written after the forget that should have removed
// it.
//
// A lookup that forget discarded was asked for a credential that logged out
// meanwhile: the session it found is the one that ended, and it is
// forgotten here by ID (every spelling of it, as ForgetSession does in this
// process).
func (g *Guard) store(f *flight, key sessionKey, e *entry) bool {
	e.sid = g.sidHash(e.session.Id)
	g.flightsMu.Lock()
	now := g.now().UnixNano()
	discarded := f.discarded
	ok := !discarded && e.fresh > now && !g.buried(key) && g.forgot.admit(key, e, now)
	if ok {
		g.cache.Set(key, e)
	}
	g.flightsMu.Unlock()
	if discarded {
		g.forgetSID(e.sid)
	}
	return ok
}

// lifetime is how long an active session Ory sent with header h may be
// served from the cache (fresh) and kept for StaleIfError (evict), as unix
// nanoseconds, counted from sent, the moment the question was sent: an
// answer that arrives late must not stretch a revoked session. fresh is
// the smallest of the TTL (DefaultCacheCap when following Ory), the
// session's expires_at and Ory-Session-Cache-For less Age; when the guard
// follows Ory and Ory sent no usable Ory-Session-Cache-For, fresh is in the
// past and the answer is not cached.
func (g *Guard) lifetime(h http.Header, sent time.Time, expires int64) (fresh, evict int64) {
	hint, ok := cacheFor(h, sent)
	if !ok && g.followOry {
		hint = math.MinInt64
	}
	fresh = min(unixNano(sent.Add(g.ttl)), expires, hint)
	return fresh, min(fresh+int64(g.stale), expires, hint)
}

// cacheFor reads Ory-Session-Cache-For (seconds) less the answer's Age
// (seconds an edge cache held it) as the unix time until which Ory lets its
// answer be reused, counted from sent. ok is false when the header is
// absent or unreadable (then until is math.MaxInt64). A limit that is zero
// or less once Age is taken off is ok and in the past: Ory asked for no
// reuse.
func cacheFor(h http.Header, sent time.Time) (until int64, ok bool) {
	n, ok := seconds(h, "Ory-Session-Cache-For")
	if !ok {
		return math.MaxInt64, false
	}
	if age, ok := seconds(h, "Age"); ok && age > 0 {
		if age >= n {
			return math.MinInt64, true
		}
		n -= age
	}
	if n <= 0 {
		return math.MinInt64, true
	}
	return unixNano(sent.Add(time.Duration(min(n, math.MaxInt64/int64(time.Second))) * time.Second)), true
}

// seconds reads a header holding a whole number of seconds; ok is false
// when it is absent or not a number.
func seconds(h http.Header, name string) (int64, bool) {
	v := strings.TrimSpace(first(h[name]))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// bury replaces a cached entry with a tombstone for one TTL: while it
// lives the credential is always checked with Ory, and no answer to a
// question asked before it was buried is cached here or shared.
func (g *Guard) bury(key sessionKey) {
	g.cache.Set(key, &entry{evict: g.now().Add(g.ttl).UnixNano()}) // fresh 0: never served
}

// buried reports whether key has a tombstone.
func (g *Guard) buried(key sessionKey) bool {
	e, ok := g.cache.GetIfPresent(key)
	return ok && e.session == nil
}

// errNoSessionID is returned by ForgetSession for an empty ID.
var errNoSessionID = errors.New("oryguard: ForgetSession needs a session ID")

// ForgetSession drops every cached entry for the session with this ID,
// whatever credential it was cached under, in this process and, with a
// shared tier (CacheConfig.Shared), in the tier and on every instance of the
// fleet. Call it after revoking a session through Ory's admin API ("sign
// out everywhere", banning a user): Kratos tells nobody, so without it the
// guard serves the session until its entries expire (at most Cache.TTL).
//
// The session stays forgotten for as long as an entry can live (Cache.TTL
// plus Cache.StaleIfError): a whoami answer about it that was asked before
// and arrives after ForgetSession returned reaches the requests waiting for
// it, but is neither cached, nor shared, nor read back from the shared tier.
//
// Only ctx's values are used: the shared tier bounds the call itself, and a
// forget abandoned halfway would leave the fleet serving the session. An
// error means the fleet may not have been told; this process has forgotten
// the session all the same.
func (g *Guard) ForgetSession(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return errNoSessionID
	}
	return g.forgetSession(ctx, sessionID)
}

// forgetSession is ForgetSession, also for a logout whose session ID is
// known.
func (g *Guard) forgetSession(ctx context.Context, id string) error {
	if g.cache == nil {
		return nil
	}
	g.forgetSID(g.sidHash(id))
	if g.shared == nil {
		return nil
	}
	// Wait for the shares that passed their check before the tombstone:
	// their writes land before the delete below, later ones see it.
	g.shared.writing.Lock()
	g.shared.writing.Unlock() //nolint:staticcheck // an empty critical section is the barrier
	if err := g.shared.c.DeleteSessions(context.WithoutCancel(ctx), g.shared.sessionHashes(id, len(g.shared.secrets))); err != nil {
		return fmt.Errorf("oryguard: forget session in the shared tier: %w", err)
	}
	return nil
}

// unixNano is t.UnixNano, clamped to int64 for times past the year 2262
// (an expires_at Ory may send for a very long session lifespan).
func unixNano(t time.Time) int64 {
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// CacheEntries is the number of sessions in the guard's cache (an
// estimate, as the cache is concurrent); 0 when the cache is off.
func (g *Guard) CacheEntries() int {
	if g.cache == nil {
		return 0
	}
	return g.cache.EstimatedSize()
}

// cacheClockResolution is the resolution of the clock the session cache
// uses for its own expiry.
const cacheClockResolution = time.Second

// cacheClock is the clock of every guard's session cache: otter reads its
// clock on every read, and a coarse clock costs a variable read instead of
// a clock read. Otter's expiry only frees memory: the guard checks every
// entry's deadlines against its own precise clock before serving it
// (Guard.session), and the expiry given to otter is lengthened by the
// resolution (initCache), so otter never drops an entry early. One clock (one goroutine, waking once a second) serves every
// guard of the process.
var cacheClock = sync.OnceValue(func() *otter.CoarseClock { return otter.NewCoarseClock(cacheClockResolution) })
