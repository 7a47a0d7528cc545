package core

import (
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
)

// DefaultPermissionCacheMaxEntries bounds the permission cache when
// PermissionsConfig.CacheTTL is positive and CacheMaxEntries is zero.
const DefaultPermissionCacheMaxEntries = 10_000

// permCache holds allowed answers of Ory Permissions for
// PermissionsConfig.CacheTTL (never denials, never errors), keyed by the
// tuple (subject, namespace, object, relation).
//
// Forgetting a subject (its session logged out, or ForgetSession) does not
// scan the cache: it records when the subject was forgotten, and an entry
// is served only when its question was sent after that moment. So an
// answer that Keto sends after the forget, to a question asked before it,
// is never served either. A forget record is kept for one TTL (after which
// every entry it could refuse has expired); when more subjects are
// forgotten within one TTL than the table holds, every entry is dropped.
type permCache struct {
	ttl     int64 // ns
	entries *otter.Cache[permKey, int64]

	// sessions maps the keyed hash of a session ID (Guard.sidHash) to the
	// identity ID it belongs to, for every session whose permissions were
	// cached: ForgetSession and the fleet's invalidations name sessions.
	sessions *otter.Cache[sessionKey, string]

	mu     sync.RWMutex
	forgot map[string]int64 // subject → unix ns when it was forgotten
	all    int64            // unix ns of the last forget of everything
	cap    int
}

func newPermCache(ttl time.Duration, maxEntries int, timeout time.Duration) *permCache {
	if maxEntries == 0 {
		maxEntries = DefaultPermissionCacheMaxEntries
	}
	// otter's expiry only frees memory: get checks the deadline itself
	// against the question's time.
	life := ttl + cacheClockResolution
	entries := otter.Must(&otter.Options[permKey, int64]{
		MaximumSize:      maxEntries,
		Executor:         func(fn func()) { fn() },
		Clock:            cacheClock(),
		ExpiryCalculator: otter.ExpiryWriting[permKey, int64](life),
	})
	sessions := otter.Must(&otter.Options[sessionKey, string]{
		MaximumSize: maxEntries,
		Executor:    func(fn func()) { fn() },
		Clock:       cacheClock(),
		// A session is remembered as long as an entry it led to may live.
		ExpiryCalculator: otter.ExpiryWriting[sessionKey, string](life + timeout),
	})
	return &permCache{
		ttl:      int64(ttl),
		entries:  entries,
		sessions: sessions,
		forgot:   map[string]int64{},
		cap:      max(maxEntries, 1024),
	}
}

// get reports whether t was allowed by an answer still fresh at now.
func (c *permCache) get(t *tuple, now time.Time) bool {
	sent, ok := c.entries.GetIfPresent(keyOf([]tuple{*t}))
	if !ok || now.UnixNano()-sent >= c.ttl {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return sent > c.all && sent > c.forgot[t.subject]
}

// store caches that t was allowed by an answer to a question sent at sent.
func (c *permCache) store(t *tuple, sent time.Time) {
	c.entries.Set(keyOf([]tuple{*t}), sent.UnixNano())
}

// remember records which identity a session belongs to.
func (c *permCache) remember(sid sessionKey, subject string) {
	if v, ok := c.sessions.GetIfPresent(sid); ok && v == subject {
		return
	}
	c.sessions.Set(sid, subject)
}

// forgetSession drops the cached answers of the identity of session sid,
// when this process has seen the session; it reports whether it had.
func (c *permCache) forgetSession(sid sessionKey, now time.Time) bool {
	subject, ok := c.sessions.GetIfPresent(sid)
	if !ok {
		return false
	}
	c.forgetSubject(subject, now)
	return true
}

// forgetSubject drops every cached answer about subject, and every answer
// to a question about it asked until now.
func (c *permCache) forgetSubject(subject string, now time.Time) {
	at := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.forgot[subject]; !ok && len(c.forgot) >= c.cap {
		for s, t := range c.forgot {
			if at-t > c.ttl {
				delete(c.forgot, s)
			}
		}
		if len(c.forgot) >= c.cap {
			c.all = at // no room to name it: forget everyone
			return
		}
	}
	c.forgot[subject] = at
}

// forgetAll drops every cached answer.
func (c *permCache) forgetAll(now time.Time) {
	c.mu.Lock()
	c.all = now.UnixNano()
	c.mu.Unlock()
	c.entries.InvalidateAll()
}

// PermissionCacheEntries is the number of allowed answers in the guard's
// permission cache (an estimate, as the cache is concurrent); 0 when it is
// off (PermissionsConfig.CacheTTL zero).
func (g *Guard) PermissionCacheEntries() int {
	if g.perm == nil || g.perm.cache == nil {
		return 0
	}
	return g.perm.cache.entries.EstimatedSize()
}

// forgetPermissions drops the cached permission answers of the identity of
// session sid (when this process checked a permission for that session):
// forgetSID calls it for a logout, ForgetSession and the fleet's
// invalidations.
func (g *Guard) forgetPermissions(sid sessionKey) {
	if g.perm == nil || g.perm.cache == nil {
		return
	}
	g.perm.cache.forgetSession(sid, g.now())
}
