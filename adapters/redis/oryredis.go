package oryredis

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/redis/go-redis/v9"
)

// Defaults used when the matching Config field is left zero.
const (
	// DefaultTimeout bounds one Redis call. A slower Redis costs whoami
	// calls, never a request.
	DefaultTimeout = 50 * time.Millisecond
	// DefaultPrefix starts every key and the invalidation channel's name.
	DefaultPrefix = "oryguard:"
	// MinSecretLength is the shortest fleet secret New accepts.
	MinSecretLength = 32
	// DefaultMaxTTL is the longest an entry lives in Redis, and how long a
	// deletion marker lives, when Config.MaxTTL is zero.
	DefaultMaxTTL = 10 * time.Minute
	// DefaultMaxSessionEntries caps a session's index when
	// Config.MaxSessionEntries is zero.
	DefaultMaxSessionEntries = 64
)

// clockSlack is added to every deletion marker's and index's lifetime,
// and kept before pruning an index, for the clocks of the instances and
// Redis not being exactly the same.
const clockSlack = time.Minute

// probeEvery is how often a Tier that found Redis unreachable checks
// whether it is back; meanwhile it does not call Redis at all.
const probeEvery = 500 * time.Millisecond

// Config configures a Tier.
type Config struct {
	// Client is the Redis (or Valkey) client, such as
	// redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}). Required.
	// Close it yourself after the Tier.
	Client redis.UniversalClient

	// Secrets are the fleet's secrets, each at least MinSecretLength
	// bytes: every instance that shares sessions has the same list. The
	// first writes; every one reads, which is how a secret is rotated (see
	// the README). Keys and the encryption key are derived from them
	// (HKDF-SHA-256); Redis sees neither a credential nor a session in the
	// clear.
	Secrets []string

	// Prefix starts every key and the channel name. Empty means
	// DefaultPrefix.
	Prefix string

	// Timeout bounds each Redis call, reading Redis' reply included: the
	// caller gets control back when it runs out, and the tier counts it as
	// Redis being slow. Zero means DefaultTimeout. Set
	// ContextTimeoutEnabled in the client's options too, so that go-redis
	// also gives up the connection of a stalled call then, rather than
	// after its ReadTimeout (New logs a warning when it is off).
	Timeout time.Duration

	// MaxTTL is the longest an entry lives in Redis (a longer ttl given to
	// Set is cut to it) and how long a deletion marker lives: a write that
	// reaches Redis after a logout or DeleteSessions is dropped for that
	// long, which covers any entry that could be written late. Set it at
	// least to the guards' core.CacheConfig.TTL. Zero means DefaultMaxTTL.
	MaxTTL time.Duration

	// MaxSessionEntries caps the entries one session has in Redis (one per
	// form of its credential: a cookie header with other Ory cookies, a
	// re-issued cookie, a token): a write past the cap is not stored, and
	// the instance asks Ory for that form. Zero means
	// DefaultMaxSessionEntries.
	MaxSessionEntries int

	// Logger receives one line per change of Redis' state (unreachable,
	// back, invalidation channel lost, back) and at most one a minute about
	// unreadable values. Nil means slog.Default().
	Logger *slog.Logger
}

// Tier is a core.SharedCache on Redis. Build it with New, put it in
// core.CacheConfig.Shared, and Close it when the app stops.
type Tier struct {
	rdb     redis.UniversalClient
	prefix  string
	channel string
	timeout time.Duration
	log     *slog.Logger
	keys    [][]byte      // key secrets for core, one per fleet secret
	aeads   []cipher.AEAD // value ciphers, one per fleet secret

	maxTTL     time.Duration
	maxEntries int

	down    atomic.Bool
	probing atomic.Bool
	badAt   atomic.Int64

	mu     sync.Mutex
	subs   []*subscriber // copied on write
	closed bool

	stop context.CancelFunc
	done chan struct{}
}

var _ core.SharedCache = (*Tier)(nil)

// errDown is what calls return while Redis is known to be unreachable.
var errDown = errors.New("oryredis: Redis unreachable")

// New checks cfg, derives the keys and starts listening for invalidations.
func New(cfg Config) (*Tier, error) {
	if cfg.Client == nil {
		return nil, errors.New("oryredis: Config.Client is nil; set it to a go-redis client such as redis.NewClient(&redis.Options{Addr: \"127.0.0.1:6379\"})")
	}
	const hint = "set oryredis.Config.Secrets to one random value of at least 32 bytes that every instance shares (for example `openssl rand -base64 32`, kept in your secret store)"
	if len(cfg.Secrets) == 0 {
		return nil, fmt.Errorf("oryredis: no fleet secret; %s", hint)
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("oryredis: Config.Prefix %q holds a brace; the tier puts Redis Cluster hash tags in its keys, so choose a prefix without { or }", cfg.Prefix)
	}
	t := &Tier{
		rdb:        cfg.Client,
		prefix:     cfg.Prefix,
		timeout:    cfg.Timeout,
		log:        cfg.Logger,
		maxTTL:     cfg.MaxTTL,
		maxEntries: cfg.MaxSessionEntries,
		done:       make(chan struct{}),
	}
	if t.prefix == "" {
		t.prefix = DefaultPrefix
	}
	if t.timeout <= 0 {
		t.timeout = DefaultTimeout
	}
	if t.maxTTL <= 0 {
		t.maxTTL = DefaultMaxTTL
	}
	if t.maxEntries <= 0 {
		t.maxEntries = DefaultMaxSessionEntries
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if !contextTimeouts(cfg.Client) {
		t.log.Warn("oryredis: the Redis client's ContextTimeoutEnabled is off: a call Redis stalls still returns within the tier's timeout, but go-redis holds its connection until its ReadTimeout; set ContextTimeoutEnabled: true in the client's options",
			slog.Duration("timeout", t.timeout))
	}
	t.channel = t.prefix + "invalidate"
	for i, s := range cfg.Secrets {
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("oryredis: fleet secret %d is %d bytes, shorter than %d; %s", i, len(s), MinSecretLength, hint)
		}
		kk, err := hkdf.Key(sha256.New, []byte(s), nil, "oryguard shared key v1", 32)
		if err != nil {
			return nil, fmt.Errorf("oryredis: derive key secret: %w", err)
		}
		vk, err := hkdf.Key(sha256.New, []byte(s), nil, "oryguard shared value v1", 32)
		if err != nil {
			return nil, fmt.Errorf("oryredis: derive value key: %w", err)
		}
		block, err := aes.NewCipher(vk)
		if err != nil {
			return nil, fmt.Errorf("oryredis: value cipher: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("oryredis: value cipher: %w", err)
		}
		t.keys = append(t.keys, kk)
		t.aeads = append(t.aeads, aead)
	}
	ctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	ps := t.rdb.Subscribe(ctx) // subscribes in listen, so the first confirmation is seen
	go t.listen(ctx, ps)
	return t, nil
}

// Close stops listening for invalidations and removes every function
// Subscribe or Watch registered: none is called once Close has returned.
// It does not close the client.
func (t *Tier) Close() error {
	t.stop()
	<-t.done
	t.mu.Lock()
	t.closed, t.subs = true, nil
	t.mu.Unlock()
	return nil
}

// contextTimeouts reports whether the client bounds its socket reads by
// the context's deadline. A client whose options it cannot see counts as
// yes.
func contextTimeouts(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// KeySecrets implements core.SharedCache.
func (t *Tier) KeySecrets() [][]byte { return t.keys }

// Key names. The part in braces is a Redis Cluster hash tag: an entry and
// its deletion marker share the credential key's slot, a session's index
// and its marker share the session hash's slot, so every script touches
// one slot.
func (t *Tier) dataKey(k []byte) string    { return t.prefix + "s:{" + hex.EncodeToString(k) + "}" }
func (t *Tier) keyMarker(k []byte) string  { return t.prefix + "x:{" + hex.EncodeToString(k) + "}" }
func (t *Tier) indexKey(s []byte) string   { return t.prefix + "i:{" + hex.EncodeToString(s) + "}" }
func (t *Tier) sessMarker(s []byte) string { return t.prefix + "y:{" + hex.EncodeToString(s) + "}" }

// errSlow is what a call returns when the tier's own budget ran out.
var errSlow = errors.New("no answer from Redis within the tier's timeout")

// ErrForgotten is what Set returns when it dropped the write because the
// credential or the session was deleted (Delete, DeleteSessions) on some
// instance within Config.MaxTTL: the answer being shared is older than
// that logout. It is not a Redis failure.
var ErrForgotten = errors.New("oryredis: session forgotten; not stored")

// ErrTooManyEntries is what Set returns when its session already has
// Config.MaxSessionEntries live entries: the entry is not shared. It is
// not a Redis failure.
var ErrTooManyEntries = errors.New("oryredis: too many entries for one session; not stored")

// call runs fn within the tier's budget unless Redis is known to be down.
func (t *Tier) call(ctx context.Context, always bool, fn func(context.Context) error) error {
	if t.down.Load() {
		t.probe()
		return errDown
	}
	return t.do(ctx, always, fn)
}

// do runs fn with a context of its own: the caller's values, the tier's
// budget (Config.Timeout), and not the caller's cancellation, so a caller
// that gives up (a client that hung up) never counts as a Redis failure.
// Only fn's own errors and the budget running out mark Redis down. The
// caller gets control back at the budget even if the client does not
// bound its reads by the context (go-redis without ContextTimeoutEnabled);
// the call then finishes in the background. A caller whose context ends
// first gets its context's error at once: reads (always false) are then
// not sent at all, writes and deletes (always true) still run to the end.
func (t *Tier) do(ctx context.Context, always bool, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil && !always {
		return fmt.Errorf("oryredis: %w", err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	done := make(chan error, 1)
	go func() {
		err := fn(cctx)
		if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, ErrForgotten) && !errors.Is(err, ErrTooManyEntries) {
			if cctx.Err() != nil {
				err = fmt.Errorf("%w: %w", errSlow, err)
			}
			t.markDown(err)
		}
		done <- err
		cancel()
	}()
	select {
	case err := <-done:
		return t.result(err)
	case <-cctx.Done():
		select {
		case err := <-done: // fn returned just before the budget ran out
			return t.result(err)
		default:
		}
		t.markDown(errSlow)
		return fmt.Errorf("oryredis: %w", errSlow)
	case <-ctx.Done():
		return fmt.Errorf("oryredis: caller gave up (the call goes on): %w", ctx.Err())
	}
}

func (t *Tier) result(err error) error {
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return nil
	case errors.Is(err, ErrForgotten), errors.Is(err, ErrTooManyEntries):
		return err
	}
	return fmt.Errorf("oryredis: %w", err)
}

func (t *Tier) markDown(err error) {
	if t.down.CompareAndSwap(false, true) {
		t.log.Warn("oryredis: Redis unreachable or slow; carrying on with the in-process cache and Ory",
			slog.String("error", err.Error()), slog.Duration("timeout", t.timeout))
		t.probe()
	}
}

// probe checks in the background, every probeEvery, whether Redis answers
// again; one prober at a time.
func (t *Tier) probe() {
	if !t.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer t.probing.Store(false)
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		for t.down.Load() {
			select {
			case <-t.done:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
			err := t.rdb.Ping(ctx).Err()
			cancel()
			if err == nil && t.down.CompareAndSwap(true, false) {
				t.log.Info("oryredis: Redis reachable again; sharing sessions")
			}
		}
	}()
}

// Get implements core.SharedCache: the first of keys whose value opens
// under its secret's key. A value that does not open is a miss.
func (t *Tier) Get(ctx context.Context, keys [][]byte) ([]byte, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = t.dataKey(k)
	}
	// One GET per key in a pipeline, not MGET: the keys may live in
	// different slots of a Redis Cluster.
	cmds := make([]*redis.StringCmd, len(names))
	err := t.call(ctx, false, func(ctx context.Context) error {
		_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range names {
				cmds[i] = p.Get(ctx, n)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, c := range cmds {
		v, err := c.Bytes()
		if err != nil || i >= len(t.aeads) {
			continue // redis.Nil: no value under this key
		}
		if plain, ok := t.open(i, keys[i], v); ok {
			return plain, nil
		}
		t.logBad()
	}
	return nil, nil
}

// seal encrypts value under the current secret, bound to its key.
func (t *Tier) seal(key, value []byte) []byte {
	a := t.aeads[0]
	out := make([]byte, a.NonceSize(), a.NonceSize()+len(value)+a.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails
	return a.Seal(out, out, value, key)
}

func (t *Tier) open(i int, key, sealed []byte) ([]byte, bool) {
	a := t.aeads[i]
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, false
	}
	plain, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], key)
	return plain, err == nil
}

func (t *Tier) logBad() {
	now := time.Now().UnixNano()
	last := t.badAt.Load()
	if last != 0 && now-last < int64(time.Minute) || !t.badAt.CompareAndSwap(last, now) {
		return
	}
	t.log.Warn("oryredis: a stored session does not open (corrupted, or written under another fleet secret); treated as a miss")
}

// setIndex is the first half of a write, in the session's slot: unless
// the session has a deletion marker, it records the entry's key in the
// session's index (a sorted set scored by the entry's end), prunes members
// whose entries have ended, refuses a new member past the cap, and makes
// the index live as long as its longest entry. It returns 1 (recorded),
// 0 (the session was forgotten) or -1 (the index is full).
//
// KEYS: index, session marker. ARGV: member, end (unix ms), prune before
// (unix ms), cap.
var setIndex = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], top[2])
return 1
`)

// setEntry is the second half of a write, in the credential key's slot:
// the sealed value is stored until its end unless the key has a deletion
// marker. It returns 1 (stored) or 0 (the credential was forgotten).
//
// KEYS: data key, key marker. ARGV: sealed value, end (unix ms).
var setEntry = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return 1
`)

// Set implements core.SharedCache. The entry lives ttl, at most
// Config.MaxTTL. The write is dropped (ErrForgotten, not a Redis failure) if
// the credential or the session was deleted within the last MaxTTL, by
// Delete or DeleteSessions on any instance: each half of the write checks
// its deletion marker atomically in a script, and the index half runs
// first, so a deletion either sees the entry in the index (and deletes it,
// leaving a marker the data half then finds) or leaves a marker the index
// half finds. The write is also dropped (ErrTooManyEntries) when the session
// already has MaxSessionEntries live entries.
func (t *Tier) Set(ctx context.Context, key, sid, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	ttl = min(ttl, t.maxTTL)
	now := time.Now()
	end := now.Add(ttl).UnixMilli()
	name, idx := t.dataKey(key), t.indexKey(sid)
	sealed := t.seal(key, value)
	return t.call(ctx, true, func(ctx context.Context) error {
		n, err := setIndex.Run(ctx, t.rdb, []string{idx, t.sessMarker(sid)},
			name, end, now.Add(-clockSlack).UnixMilli(), t.maxEntries).Int()
		switch {
		case err != nil:
			return fmt.Errorf("record the entry in its session's index: %w", err)
		case n == 0:
			return ErrForgotten
		case n < 0:
			return ErrTooManyEntries
		}
		if n, err = setEntry.Run(ctx, t.rdb, []string{name, t.keyMarker(key)}, sealed, end).Int(); err != nil {
			return fmt.Errorf("store the entry: %w", err)
		}
		if n == 0 {
			return ErrForgotten
		}
		return nil
	})
}

// Delete implements core.SharedCache: each key gets a deletion marker that
// lives Config.MaxTTL (plus a minute for clock skew), so that a write
// still on its way cannot store it again, and loses its entry. Every
// instance is told to forget the keys even if the deletion failed or ran
// out of time: the invalidation is published by a call of its own.
func (t *Tier) Delete(ctx context.Context, keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	if t.down.Load() {
		t.probe()
		return errDown
	}
	marker := t.maxTTL + clockSlack
	delErr := t.do(ctx, true, func(ctx context.Context) error {
		_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Set(ctx, t.keyMarker(k), "1", marker)
				p.Del(ctx, t.dataKey(k)) // one key a command: Cluster slots
			}
			return nil
		})
		return err
	})
	return errors.Join(delErr, t.publish(ctx, message('k', keys)))
}

// DeleteSessions implements core.SharedCache: each session gets a
// deletion marker that lives Config.MaxTTL (plus a minute for clock skew),
// and the entries its index names get theirs and are deleted, with the
// index. Every instance is told to forget the sessions even if the
// deletion failed or ran out of time.
func (t *Tier) DeleteSessions(ctx context.Context, sids [][]byte) error {
	if len(sids) == 0 {
		return nil
	}
	if t.down.Load() {
		t.probe()
		return errDown
	}
	marker := t.maxTTL + clockSlack
	delErr := t.do(ctx, true, func(ctx context.Context) error {
		members := make([]*redis.StringSliceCmd, len(sids))
		if _, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, s := range sids {
				// In this order on the session's node: a write that
				// recorded its entry before the marker is in the index.
				p.Set(ctx, t.sessMarker(s), "1", marker)
				members[i] = p.ZRange(ctx, t.indexKey(s), 0, -1)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("mark the sessions deleted: %w", err)
		}
		_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, s := range sids {
				for _, name := range members[i].Val() {
					k, ok := t.keyOf(name)
					if !ok {
						continue
					}
					p.Set(ctx, t.keyMarker(k), "1", marker)
					p.Del(ctx, name)
				}
				p.Del(ctx, t.indexKey(s))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("delete the sessions' entries: %w", err)
		}
		return nil
	})
	return errors.Join(delErr, t.publish(ctx, message('s', sids)))
}

// keyOf returns the credential key of a data key's name.
func (t *Tier) keyOf(name string) ([]byte, bool) {
	h, ok := strings.CutPrefix(name, t.prefix+"s:{")
	if !ok {
		return nil, false
	}
	h, ok = strings.CutSuffix(h, "}")
	if !ok {
		return nil, false
	}
	k, err := hex.DecodeString(h)
	return k, err == nil
}

// publish tells every instance about an invalidation, within a budget of
// its own.
func (t *Tier) publish(ctx context.Context, msg []byte) error {
	return t.do(ctx, true, func(ctx context.Context) error {
		if err := t.rdb.Publish(ctx, t.channel, msg).Err(); err != nil {
			return fmt.Errorf("publish the invalidation: %w", err)
		}
		return nil
	})
}

// subscriber is one function Subscribe or Watch registered.
type subscriber struct{ fn func(core.Invalidation) }

// Subscribe implements core.SharedCache. The function stays registered
// until Close; use Watch to be able to remove it earlier.
func (t *Tier) Subscribe(fn func(core.Invalidation)) { t.Watch(fn) }

// Watch registers fn like Subscribe and returns a function that removes
// it: fn is not called for an invalidation received after stop returned.
// stop may be called more than once, and from fn. Close removes every
// function.
func (t *Tier) Watch(fn func(core.Invalidation)) (stop func()) {
	s := &subscriber{fn: fn}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return func() {}
	}
	t.subs = append(slices.Clip(t.subs), s) // copy on write: dispatch reads a snapshot
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if i := slices.Index(t.subs, s); i >= 0 {
			t.subs = slices.Delete(slices.Clone(t.subs), i, i+1)
		}
	}
}

// Subscribers returns how many functions are registered.
func (t *Tier) Subscribers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.subs)
}

func (t *Tier) dispatch(inv core.Invalidation) {
	t.mu.Lock()
	subs := t.subs
	t.mu.Unlock()
	for _, s := range subs {
		s.fn(inv)
	}
}

// message is kind followed by the 32-byte hashes.
func message(kind byte, hashes [][]byte) []byte {
	out := make([]byte, 1, 1+32*len(hashes))
	out[0] = kind
	for _, h := range hashes {
		out = append(out, h...)
	}
	return out
}

func parseMessage(p string) (core.Invalidation, bool) {
	if len(p) < 1+32 || (len(p)-1)%32 != 0 {
		return core.Invalidation{}, false
	}
	var hashes [][]byte
	for i := 1; i < len(p); i += 32 {
		hashes = append(hashes, []byte(p[i:i+32]))
	}
	switch p[0] {
	case 'k':
		return core.Invalidation{Keys: hashes}, true
	case 's':
		return core.Invalidation{Sessions: hashes}, true
	}
	return core.Invalidation{}, false
}
