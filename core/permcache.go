package core

import (
	"strings"
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

	// sessions remembers, for every session whose permissions were asked
	// about here, the keyed hash of its ID (Guard.sidHash) and its
	// identity: ForgetSession and the fleet's invalidations name sessions
	// by hash (bySID). A hit costs one lookup by session ID, no hashing.
	sessions *otter.Cache[string, sessionRec]
	sidMu    sync.Mutex
	bySID    map[sessionKey]string // exactly the sessions held in sessions

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
	c := &permCache{
		ttl:    int64(ttl),
		forgot: map[string]int64{},
		bySID:  map[sessionKey]string{},
		cap:    max(maxEntries, 1024),
	}
	c.entries = entries
	c.sessions = otter.Must(&otter.Options[string, sessionRec]{
		MaximumSize: maxEntries,
		Executor:    func(fn func()) { fn() },
		Clock:       cacheClock(),
		// Kept for as long after the session's last request as an entry
		// that request led to may live.
		ExpiryCalculator: otter.ExpiryAccessing[string, sessionRec](life + timeout),
		OnDeletion: func(e otter.DeletionEvent[string, sessionRec]) {
			if e.Cause == otter.CauseReplacement {
				return // the new record keeps its hash (the same one) in bySID
			}
			c.sidMu.Lock()
			delete(c.bySID, e.Value.sid)
			c.sidMu.Unlock()
		},
	})
	return c
}

// sessionRec is what the permission cache remembers of a session.
type sessionRec struct {
	sid     sessionKey
	subject string
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

// remember records the identity of session id; hash computes the keyed
// hash of id, only when the session is new here.
func (c *permCache) remember(id, subject string, hash func(string) sessionKey) {
	if v, ok := c.sessions.GetIfPresent(id); ok && v.subject == subject {
		return
	}
	sid := hash(id)
	c.sidMu.Lock()
	c.bySID[sid] = subject
	c.sidMu.Unlock()
	c.sessions.Set(strings.Clone(id), sessionRec{sid: sid, subject: subject})
}

// forgetSession drops the cached answers of the identity of session sid,
// when this process has seen the session; it reports whether it had.
func (c *permCache) forgetSession(sid sessionKey, now time.Time) bool {
	c.sidMu.Lock()
	subject, ok := c.bySID[sid]
	c.sidMu.Unlock()
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
