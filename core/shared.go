package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	client "github.com/ory/client-go"
)

// SharedCache is a session tier shared by every instance of an app (a
// fleet), such as the Redis tier in github.com/oryguard/oryguard/adapters/redis.
// The guard asks it after its in-process cache and before Ory, writes every
// answer from Ory to it, and tells it about logouts; it tells the guard what
// other instances forgot.
//
// The raw credential never leaves core: keys are 32-byte digests that core
// computes with a keyed pseudorandom function under the secrets KeySecrets
// returns, one key per secret, the current secret first. For a credential
// the function is SHA-256 over the secret (one 64-byte block) followed by
// the length-prefixed credential: a PRF because the secret fills the first
// block and the length prefix makes inputs prefix-free, which rules out
// length extension (core/key.go says why, and why it is not HMAC: one hash
// pass on the request path instead of two). Session IDs (Set's sid,
// DeleteSessions) are HMAC-SHA-256 under the same secret. Without the secret
// a key reveals nothing of the credential and cannot be computed. Values are opaque bytes that hold a session
// (with identity traits): the tier must encrypt and authenticate them
// before they leave the process. Every method must return within a short
// timeout of its own; an error is never a session, only a miss.
type SharedCache interface {
	// KeySecrets returns the secrets core derives shared keys under, the
	// current one (which writes) first; every one reads. New calls it once;
	// each must be at least MinSharedKeySecret bytes. Instances that share
	// a secret share entries.
	KeySecrets() [][]byte

	// Get returns the value stored under the first of keys (one per key
	// secret, in the same order) that holds one. (nil, nil) is a miss; a
	// value that fails to decrypt must be reported as a miss, never passed
	// on.
	Get(ctx context.Context, keys [][]byte) ([]byte, error)

	// Set stores value under key (derived under the current secret) for
	// ttl, and records key under sid, the keyed hash of the session's ID,
	// so that DeleteSessions can find it.
	Set(ctx context.Context, key, sid, value []byte, ttl time.Duration) error

	// Delete removes keys and tells every instance (this one included) to
	// forget them (Invalidation.Keys).
	Delete(ctx context.Context, keys [][]byte) error

	// DeleteSessions removes every key recorded under the session hashes
	// sids and tells every instance to forget those sessions
	// (Invalidation.Sessions).
	DeleteSessions(ctx context.Context, sids [][]byte) error

	// Subscribe registers fn to be called with each invalidation from any
	// instance, and with All set when the tier may have missed some (it
	// lost its channel and got it back). fn must not block for long. A
	// tier whose subscriptions can end implements SharedCacheWatcher
	// too, and the guard uses that instead.
	Subscribe(fn func(Invalidation))
}

// SharedCacheWatcher is implemented by a SharedCache whose
// subscriptions can end. Guard.Close calls the returned function (once) to
// stop receiving invalidations; a guard rebuilt on a config reload, or one
// guard per tenant, then leaves nothing behind in the tier. A tier without
// it keeps a small stub per closed guard (the guard itself is freed).
type SharedCacheWatcher interface {
	// Watch is Subscribe, returning a function that ends
	// the subscription: once it returns, fn is not called again. Calling it
	// more than once does nothing.
	Watch(fn func(Invalidation)) (stop func())
}

// Invalidation tells a guard which in-process entries to drop.
type Invalidation struct {
	// Keys are shared keys (one per key secret of the sender) of
	// credentials that logged out.
	Keys [][]byte
	// Sessions are keyed hashes of session IDs (one per key secret of the
	// sender) that were revoked.
	Sessions [][]byte
	// All drops every entry: the instance may have missed invalidations.
	All bool
}

// MinSharedKeySecret is the shortest key secret a SharedCache may return.
const MinSharedKeySecret = 32

// sharedTier is the guard's side of a SharedCache.
type sharedTier struct {
	c       SharedCache
	secrets [][]byte
	keyers  []sync.Pool  // *keyer for secrets[1:]; secrets[0] is g.keyers
	badAt   atomic.Int64 // when an unreadable value was last logged

	// writing is held (read) by every write to the tier from its check of
	// the session's tombstone until the write returns, and taken (write)
	// by forgetSession between the tombstone and the tier's delete: a
	// write that passed its check lands before the delete.
	writing sync.RWMutex

	sub *subscription
}

// subscription is what the tier holds of a guard: the guard, until Close.
type subscription struct {
	g           atomic.Pointer[Guard]
	unsubscribe func() // from SharedCacheWatcher; nil otherwise
	once        sync.Once
}

func (s *subscription) deliver(inv Invalidation) {
	if g := s.g.Load(); g != nil {
		g.invalidate(inv)
	}
}

// initShared checks Cache.Shared and returns the secret the guard's keys
// are derived under (nil: no shared tier, use a random one). With a shared
// tier the in-process key is the current shared key, so the hit path does
// no extra work and invalidations name in-process entries directly.
func (g *Guard) initShared(cc CacheConfig) ([]byte, error) {
	if cc.Shared == nil {
		return nil, nil
	}
	if g.cache == nil {
		return nil, fmt.Errorf("%w: Cache.Shared needs the in-process cache: set Cache.TTL too", ErrInvalidConfig)
	}
	secrets := cc.Shared.KeySecrets()
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: Cache.Shared returned no key secret", ErrInvalidConfig)
	}
	t := &sharedTier{c: cc.Shared, keyers: make([]sync.Pool, len(secrets)-1)}
	for i, s := range secrets {
		if len(s) < MinSharedKeySecret {
			return nil, fmt.Errorf("%w: Cache.Shared key secret %d is %d bytes; it must be at least %d", ErrInvalidConfig, i, len(s), MinSharedKeySecret)
		}
		s = append([]byte(nil), s...)
		t.secrets = append(t.secrets, s)
		if i > 0 {
			t.keyers[i-1].New = newKeyer(s)
		}
	}
	g.shared = t
	return t.secrets[0], nil
}

// subscribeShared starts listening to the fleet once the guard is built.
func (g *Guard) subscribeShared() {
	if g.shared == nil {
		return
	}
	sub := &subscription{}
	sub.g.Store(g)
	g.shared.sub = sub
	if u, ok := g.shared.c.(SharedCacheWatcher); ok {
		sub.unsubscribe = u.Watch(sub.deliver)
		return
	}
	g.shared.c.Subscribe(sub.deliver)
}

// sharedKeys returns key (under the current secret) followed by the
// credential's keys under the older secrets. It runs once per miss.
func (g *Guard) sharedKeys(key sessionKey, c *credential) [][]byte {
	keys := make([][]byte, 1, len(g.shared.secrets))
	keys[0] = key[:]
	for i := range g.shared.keyers {
		k := keyIn(&g.shared.keyers[i], c)
		keys = append(keys, k[:])
	}
	return keys
}

// sessionHashes returns the keyed hashes of a session ID, one per secret.
func (t *sharedTier) sessionHashes(id string, n int) [][]byte {
	out := make([][]byte, 0, n)
	for _, s := range t.secrets[:n] {
		m := hmac.New(sha256.New, s)
		m.Write([]byte{'s'})
		m.Write([]byte(id))
		out = append(out, m.Sum(nil))
	}
	return out
}

// fetch is what one collapsed miss does: the shared tier first, then Ory.
//
// The tier is asked with the request's values but not its cancellation: a
// client hanging up is not the tier failing, and a tier that counted it so
// could be taken out of the fleet by clients that hang up. The tier bounds
// its own calls (SharedCache), so the leader waits at most that long.
func (g *Guard) fetch(ctx context.Context, key sessionKey, c *credential, f *flight) result {
	if g.shared == nil {
		return g.lookup(ctx, key, c, f)
	}
	if ctx.Value(skipSharedKey{}) == nil && !g.buried(key) {
		if res, ok := g.fromShared(ctx, key, c, f); ok {
			return res
		}
	}
	if wait := g.backoff.Wait(g.now().UnixNano()); wait > 0 {
		return result{kind: reasonRateLimited, retryAfter: wait}
	}
	return g.lookup(ctx, key, c, f)
}

type skipSharedKey struct{}

// skipShared marks a lookup that must ask Ory itself, such as recheck's:
// the shared tier holds the same copy the in-process cache had.
func (g *Guard) skipShared(ctx context.Context) context.Context {
	if g.shared == nil {
		return ctx
	}
	return context.WithValue(ctx, skipSharedKey{}, true)
}

// backoffWait is the backoff's Wait for a lookup that missed the in-process
// cache; with a shared tier the tier is asked first, inside the flight.
func (g *Guard) backoffWait(now int64) int {
	if g.shared != nil {
		return 0
	}
	return g.backoff.Wait(now)
}

// sharedVersion is the first byte of a value core hands the shared tier.
const sharedVersion = 1

// fromShared reads the shared tier. Anything but a well-formed, fresh,
// usable session is a miss.
func (g *Guard) fromShared(ctx context.Context, key sessionKey, c *credential, f *flight) (result, bool) {
	v, err := g.shared.c.Get(context.WithoutCancel(ctx), g.sharedKeys(key, c))
	if err != nil || v == nil {
		return result{}, false // the tier logs its own state changes
	}
	fresh, s, ok := decodeShared(v)
	if !ok {
		g.logBadShared(ctx)
		return result{}, false
	}
	now := g.now()
	if now.UnixNano() >= fresh || !usable(s, now) || g.forgot.isDead(g.sidHash(s.Id), now.UnixNano()) {
		return result{}, false // a forgotten session: written before it was forgotten
	}
	exp := unixNano(*s.ExpiresAt)
	g.store(f, key, &entry{session: s, fresh: fresh, evict: min(fresh+int64(g.stale), exp)})
	return result{kind: reasonSession, session: s, cached: true}, true // a copy: recheck may ask Ory
}

func decodeShared(v []byte) (int64, *client.Session, bool) {
	if len(v) < 9 || v[0] != sharedVersion {
		return 0, nil, false
	}
	fresh := int64(binary.BigEndian.Uint64(v[1:9])) //nolint:gosec // written by encodeShared from an int64
	var s client.Session
	if json.Unmarshal(v[9:], &s) != nil || s.Id == "" || s.ExpiresAt == nil {
		return 0, nil, false
	}
	return fresh, &s, true
}

func encodeShared(s *client.Session, fresh int64) ([]byte, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("oryguard: encode session for the shared tier: %w", err)
	}
	v := make([]byte, 9, 9+len(body))
	v[0] = sharedVersion
	binary.BigEndian.PutUint64(v[1:9], uint64(fresh)) //nolint:gosec // fresh is a positive unix time
	return append(v, body...), nil
}

// logBadShared logs an unreadable shared value at most once a minute.
func (g *Guard) logBadShared(ctx context.Context) {
	now := time.Now().UnixNano()
	last := g.shared.badAt.Load()
	if last != 0 && now-last < int64(time.Minute) || !g.shared.badAt.CompareAndSwap(last, now) {
		return
	}
	g.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: unreadable session in the shared tier; treated as a miss")
}

// share writes an answer from Ory, just cached in process, to the shared
// tier for the same lifetime (until fresh).
func (g *Guard) share(ctx context.Context, key sessionKey, s *client.Session, fresh int64) {
	if g.shared == nil {
		return
	}
	ttl := time.Duration(fresh - g.now().UnixNano())
	v, err := encodeShared(s, fresh)
	if err != nil || ttl <= 0 {
		return
	}
	sid := g.sidHash(s.Id) // sessionHashes(s.Id, 1)[0]
	g.shared.writing.RLock()
	defer g.shared.writing.RUnlock()
	if g.forgot.isDead(sid, g.now().UnixNano()) {
		return // forgotten since it was cached: ForgetSession has returned or is deleting
	}
	_ = g.shared.c.Set(context.WithoutCancel(ctx), key[:], sid[:], v, ttl) // the tier logs its own state changes
}

// forgetShared is forgetCredential's part for a shared tier when the
// session's ID is unknown: the credential's entry leaves the tier, and
// every instance is told to forget it.
func (g *Guard) forgetShared(ctx context.Context, k *known) {
	if g.shared == nil || !k.fwdOK {
		return
	}
	key := k.keys[len(k.keys)-1] // with a shared tier, entries are keyed by what Ory sees
	if err := g.shared.c.Delete(context.WithoutCancel(ctx), g.sharedKeys(key, &k.fwd)); err != nil {
		g.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: could not tell the fleet about a logout; other instances forget it within the TTL",
			slog.String("error", err.Error()))
	}
}

// invalidate applies an invalidation from the fleet. A credential another
// instance logged out without knowing its session is looked up here: when
// this cache holds the session, every spelling of it is forgotten too.
func (g *Guard) invalidate(inv Invalidation) {
	if inv.All {
		g.cache.InvalidateAll()
		if g.perm != nil && g.perm.cache != nil {
			g.perm.cache.forgetAll(g.now())
		}
		return
	}
	for _, k := range inv.Keys {
		if len(k) != len(sessionKey{}) {
			continue
		}
		key := sessionKey(k)
		if e, ok := g.cache.GetIfPresent(key); ok && e.session != nil {
			g.forgetSID(e.sid)
		}
		g.forgetKey(key) // also discards a lookup in flight here
	}
	for _, h := range inv.Sessions {
		if len(h) == len(sessionKey{}) {
			g.forgetSID(sessionKey(h)) // the sender's older secrets' hashes match nothing here
		}
	}
}
