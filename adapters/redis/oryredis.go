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
)

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

	// Timeout bounds each Redis call. Zero means DefaultTimeout.
	Timeout time.Duration

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

	down    atomic.Bool
	probing atomic.Bool
	badAt   atomic.Int64

	mu   sync.Mutex
	subs []func(core.Invalidation)

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
	t := &Tier{
		rdb:     cfg.Client,
		prefix:  cfg.Prefix,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
		done:    make(chan struct{}),
	}
	if t.prefix == "" {
		t.prefix = DefaultPrefix
	}
	if t.timeout <= 0 {
		t.timeout = DefaultTimeout
	}
	if t.log == nil {
		t.log = slog.Default()
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

// Close stops listening for invalidations. It does not close the client.
func (t *Tier) Close() error {
	t.stop()
	<-t.done
	return nil
}

// KeySecrets implements core.SharedCache.
func (t *Tier) KeySecrets() [][]byte { return t.keys }

func (t *Tier) dataKey(k []byte) string  { return t.prefix + "s:" + hex.EncodeToString(k) }
func (t *Tier) indexKey(s []byte) string { return t.prefix + "i:" + hex.EncodeToString(s) }

// call runs fn with the per-call timeout unless Redis is known to be down,
// and tracks Redis' state from its outcome.
func (t *Tier) call(ctx context.Context, fn func(context.Context) error) error {
	if t.down.Load() {
		t.probe()
		return errDown
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	err := fn(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		t.markDown(err)
		return fmt.Errorf("oryredis: %w", err)
	}
	return nil
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
	err := t.call(ctx, func(ctx context.Context) error {
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

// Set implements core.SharedCache.
func (t *Tier) Set(ctx context.Context, key, sid, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	name, idx := t.dataKey(key), t.indexKey(sid)
	sealed := t.seal(key, value)
	ms := ttl.Milliseconds()
	return t.call(ctx, func(ctx context.Context) error {
		_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, name, sealed, ttl)
			p.SAdd(ctx, idx, name)
			// The index lives as long as its longest entry.
			p.Do(ctx, "PEXPIRE", idx, ms, "NX")
			p.Do(ctx, "PEXPIRE", idx, ms, "GT")
			return nil
		})
		return err
	})
}

// Delete implements core.SharedCache.
func (t *Tier) Delete(ctx context.Context, keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = t.dataKey(k)
	}
	msg := message('k', keys)
	return t.call(ctx, func(ctx context.Context) error {
		_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, n := range names {
				p.Del(ctx, n) // one key a command: Cluster slots
			}
			p.Publish(ctx, t.channel, msg)
			return nil
		})
		return err
	})
}

// DeleteSessions implements core.SharedCache.
func (t *Tier) DeleteSessions(ctx context.Context, sids [][]byte) error {
	if len(sids) == 0 {
		return nil
	}
	msg := message('s', sids)
	return t.call(ctx, func(ctx context.Context) error {
		idx := make([]string, len(sids))
		members := make([]*redis.StringSliceCmd, len(sids))
		if _, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, s := range sids {
				idx[i] = t.indexKey(s)
				members[i] = p.SMembers(ctx, idx[i])
			}
			return nil
		}); err != nil {
			return err
		}
		del := append([]string(nil), idx...)
		for _, m := range members {
			del = append(del, m.Val()...)
		}
		_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, n := range del {
				p.Del(ctx, n)
			}
			p.Publish(ctx, t.channel, msg)
			return nil
		})
		return err
	})
}

// Subscribe implements core.SharedCache.
func (t *Tier) Subscribe(fn func(core.Invalidation)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, fn)
}

func (t *Tier) dispatch(inv core.Invalidation) {
	t.mu.Lock()
	subs := t.subs
	t.mu.Unlock()
	for _, fn := range subs {
		fn(inv)
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
