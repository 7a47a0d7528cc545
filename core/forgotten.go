package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"sync"
	"time"
)

// maxKeysPerSession bounds how many cache keys (spellings of a credential:
// other extra cookies, older encodings of the session cookie, the token
// itself) one session may be cached under. A further spelling is answered
// by Ory but not cached, so a hostile client cannot grow one session's index
// without bound.
const maxKeysPerSession = 16

// minForgotten is the least number of forgotten session IDs the guard keeps
// (see forgotten.cap): about 5 MB at most. Filling it needs that many
// sessions ended within one entry lifetime.
const minForgotten = 1 << 16

// forgotten is what the guard knows about sessions by ID: which cache keys
// hold each cached session (so that forgetting a session by its ID drops
// every spelling of it without scanning the cache), and which sessions were
// forgotten and until when (tombstones), so that no answer about them that
// was asked before they were forgotten is cached, shared or read back from
// the shared tier afterwards.
//
// Sessions are known by the keyed hash of their ID (Guard.sidHash), never
// by the ID itself. mu is a leaf lock: nothing calls into the session cache
// while holding it (otter may call onDeletion under its own locks).
type forgotten struct {
	mu   sync.Mutex
	keys map[sessionKey]map[sessionKey]*entry // session → cache keys holding it
	dead map[sessionKey]int64                 // session → unix ns until which it stays forgotten
	cap  int                                  // most tombstones kept
	// full, in unix ns: until then nothing is admitted, because a tombstone
	// could not be kept (the table was full of live ones).
	full int64
	life int64 // how long a tombstone lives, in ns: the longest an entry can
}

func newForgotten(maxEntries int, life int64) *forgotten {
	return &forgotten{
		keys: map[sessionKey]map[sessionKey]*entry{},
		dead: map[sessionKey]int64{},
		cap:  max(maxEntries, minForgotten),
		life: life,
	}
}

// isDead reports whether answers about session sid must be neither cached
// nor shared at now.
func (f *forgotten) isDead(sid sessionKey, now int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deadLocked(sid, now)
}

func (f *forgotten) deadLocked(sid sessionKey, now int64) bool {
	if now < f.full {
		return true
	}
	until, ok := f.dead[sid]
	return ok && now < until
}

// admit records that key is about to hold e (a session whose ID hashes to
// e.sid) and reports whether it may: not when the session was forgotten,
// nor when the session already has maxKeysPerSession spellings cached.
func (f *forgotten) admit(key sessionKey, e *entry, now int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deadLocked(e.sid, now) {
		return false
	}
	m := f.keys[e.sid]
	if m == nil {
		m = map[sessionKey]*entry{}
		f.keys[e.sid] = m
	} else if _, ok := m[key]; !ok && len(m) >= maxKeysPerSession {
		return false
	}
	m[key] = e
	return true
}

// onDeletion drops a cache entry that left the cache from the index. Only
// the very entry that was indexed is dropped: a replaced entry must not take
// its successor's index member with it.
func (f *forgotten) onDeletion(key sessionKey, e *entry) {
	if e == nil || e.session == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.keys[e.sid]
	if m[key] != e {
		return
	}
	delete(m, key)
	if len(m) == 0 {
		delete(f.keys, e.sid)
	}
}

// kill records a tombstone for sid and returns the cache keys that held it,
// which the caller buries. overflow reports that the table just filled up
// with live tombstones, so nothing is admitted for a while.
func (f *forgotten) kill(sid sessionKey, now int64) (keys []sessionKey, overflow bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.dead[sid]; !ok && len(f.dead) >= f.cap {
		for k, until := range f.dead {
			if until <= now {
				delete(f.dead, k)
			}
		}
		if len(f.dead) >= f.cap {
			// No room to remember this session: remember instead that
			// nothing may be admitted for as long as its tombstone would
			// have lived. Safe, and only reachable by forgetting more
			// sessions in one lifetime than the cache holds.
			overflow = f.full <= now
			f.full = now + f.life
		}
	}
	if len(f.dead) < f.cap {
		f.dead[sid] = now + f.life
	}
	m := f.keys[sid]
	delete(f.keys, sid)
	keys = make([]sessionKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys, overflow
}

// sidHash is the keyed hash of a session ID under the guard's key secret.
// With a shared tier it is the tier's session hash under the current secret
// (sessionHashes), so a fleet invalidation names a session here directly.
func (g *Guard) sidHash(id string) sessionKey {
	m := hmac.New(sha256.New, g.sidSecret)
	m.Write([]byte{'s'})
	m.Write([]byte(id))
	var out sessionKey
	m.Sum(out[:0])
	return out
}

// forgetSID forgets one session in this process: every cached spelling of
// it is buried, and it stays forgotten (nothing about it is cached, shared
// or read from the shared tier) for the longest lifetime an entry can have.
// It costs the session's own keys, never a scan of the cache. The
// permission answers cached for the session's identity are dropped too
// (forgetPermissions).
func (g *Guard) forgetSID(sid sessionKey) {
	g.forgetPermissions(sid)
	if g.cache == nil {
		return
	}
	keys, overflow := g.forgot.kill(sid, g.now().UnixNano())
	if overflow {
		g.log.LogAttrs(context.Background(), slog.LevelWarn, "oryguard: too many sessions forgotten at once to remember each; caching nothing until the oldest may be cached again",
			slog.Int("forgotten", g.forgot.cap), slog.Duration("for", time.Duration(g.forgot.life)))
	}
	g.flightsMu.Lock() // as store holds it: no entry is written after this
	defer g.flightsMu.Unlock()
	for _, k := range keys {
		g.bury(k)
	}
}
