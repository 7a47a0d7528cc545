package oryredis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	oryredis "github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/adapters/redis/redistest"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/redis/go-redis/v9"
)

// cluster is one Redis Cluster for the whole run, started by the first
// test that needs it.
var cluster struct {
	once sync.Once
	c    *redistest.Cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster.c != nil {
		_ = cluster.c.Stop()
	}
	os.Exit(code)
}

func clusterAddrs(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test against a real Redis Cluster in -short mode")
	}
	cluster.once.Do(func() { cluster.c, cluster.err = redistest.StartCluster(context.Background()) })
	if cluster.err != nil {
		t.Fatalf("start redis cluster: %v", cluster.err)
	}
	return cluster.c.Addrs
}

// backend makes go-redis clients for one kind of deployment.
type backend struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}

// backends are a single redis-server and a three-node Redis Cluster.
func backends(t *testing.T) []backend {
	t.Helper()
	var once sync.Once
	var rs *redistest.Server
	return []backend{
		{"single node", func(t *testing.T) redis.UniversalClient {
			once.Do(func() { rs = redistest.StartT(t) })
			c := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
		{"cluster", func(t *testing.T) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(t), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
	}
}

func flushAll(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	var err error
	if c, ok := rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.FlushAll(ctx).Err() })
	} else {
		err = rdb.FlushAll(ctx).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func newTier(t *testing.T, rdb redis.UniversalClient, mutate func(*oryredis.Config)) *oryredis.Tier {
	t.Helper()
	cfg := oryredis.Config{Client: rdb, Secrets: []string{secret1}, Timeout: 2 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	tier, err := oryredis.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tier.Close() })
	return tier
}

func random32(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// invalidations collects what a tier's subscribers get, after the
// subscription's own All.
type invalidations struct {
	ch chan core.Invalidation
}

func watch(t *testing.T, tier *oryredis.Tier) *invalidations {
	t.Helper()
	in := &invalidations{ch: make(chan core.Invalidation, 1024)}
	ready := make(chan struct{})
	var once sync.Once
	// The tier may have subscribed (and told its subscribers All) before
	// this one registers: until it has seen the subscription's All or one
	// of its own probes come back through Redis, send probes. Probes are
	// not collected.
	probe := random32(t)
	tier.Subscribe(func(inv core.Invalidation) {
		if inv.All || len(inv.Keys) > 0 && bytes.Equal(inv.Keys[0], probe) {
			once.Do(func() { close(ready) })
			return
		}
		in.ch <- inv
	})
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-ready:
			return in
		case <-deadline:
			t.Fatal("the tier did not subscribe")
			return nil
		case <-time.After(50 * time.Millisecond):
			_ = tier.Delete(context.Background(), [][]byte{probe})
		}
	}
}

// next waits for the next invalidation.
func (in *invalidations) next(t *testing.T) core.Invalidation {
	t.Helper()
	select {
	case inv := <-in.ch:
		return inv
	case <-time.After(5 * time.Second):
		t.Fatal("no invalidation arrived")
		return core.Invalidation{}
	}
}

// up reports whether the tier still calls Redis: a Get of an unknown key
// succeeds.
func up(t *testing.T, tier *oryredis.Tier) error {
	t.Helper()
	_, err := tier.Get(context.Background(), [][]byte{random32(t)})
	return err
}

// exists counts the keys among names that Redis holds.
func exists(t *testing.T, rdb redis.UniversalClient, names ...string) int {
	t.Helper()
	n := 0
	for _, name := range names {
		c, err := rdb.Exists(context.Background(), name).Result()
		if err != nil {
			t.Fatal(err)
		}
		n += int(c)
	}
	return n
}

func dataName(k []byte) string  { return oryredis.DefaultPrefix + "s:{" + hex.EncodeToString(k) + "}" }
func indexName(s []byte) string { return oryredis.DefaultPrefix + "i:{" + hex.EncodeToString(s) + "}" }

// Point 2: clients that hang up (contexts canceled before or during a
// call) never take Redis out of the fleet, and their logouts still reach
// Redis and every instance.
func TestCallerGivingUpIsNotARedisFailure(t *testing.T) {
	rs := redistest.StartT(t)
	proxy := redistest.NewStallProxy(t, rs.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	tier := newTier(t, rdb, func(c *oryredis.Config) { c.Timeout = time.Second })
	direct := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer direct.Close()
	inv := watch(t, newTier(t, direct, nil))
	ctx := context.Background()

	const burst = 20
	var keys, sids [][]byte
	for range burst {
		k, s := random32(t), random32(t)
		if err := tier.Set(ctx, k, s, []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		keys, sids = append(keys, k), append(sids, s)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for i := range burst {
		if _, err := tier.Get(canceled, [][]byte{keys[i]}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a canceled context: %v", err)
		}
		_ = tier.Set(canceled, random32(t), random32(t), []byte("v"), time.Minute)
		if i%2 == 0 {
			_ = tier.Delete(canceled, [][]byte{keys[i]})
		} else {
			_ = tier.DeleteSessions(canceled, [][]byte{sids[i]})
		}
	}
	// Canceled mid-call: Redis holds the answer until the caller is gone.
	for _, call := range []func(context.Context, []byte) error{
		func(ctx context.Context, k []byte) error { _, err := tier.Get(ctx, [][]byte{k}); return err },
		func(ctx context.Context, k []byte) error { return tier.Delete(ctx, [][]byte{k}) },
	} {
		k := random32(t)
		// Only this call names k: the burst's calls may still be running.
		held, release := proxy.Arm(hex.EncodeToString(k), false)
		ctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- call(ctx, k) }()
		<-held
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("a call whose caller gave up returned %v", err)
		}
		release()
	}
	if err := up(t, tier); err != nil {
		t.Fatalf("callers that gave up took the tier down: %v", err)
	}
	got := map[string]bool{}
	for range burst + 1 {
		i := inv.next(t)
		for _, h := range append(i.Keys, i.Sessions...) {
			got[string(h)] = true
		}
	}
	for i := range burst {
		h := keys[i]
		if i%2 == 1 {
			h = sids[i]
		}
		if !got[string(h)] {
			t.Fatalf("the invalidation of call %d was not published", i)
		}
	}
	if !eventually(func() bool {
		n := 0
		for _, k := range keys {
			n += exists(t, direct, dataName(k))
		}
		return n == 0
	}) {
		t.Fatal("deletions whose callers gave up did not reach Redis")
	}
}

// The tier's budget bounds the whole call, reading the reply included,
// even with a plain go-redis client (ContextTimeoutEnabled off, a long
// ReadTimeout); running out of it counts as Redis being slow.
func TestBudgetBoundsTheWholeCall(t *testing.T) {
	rs := redistest.StartT(t)
	proxy := redistest.NewStallProxy(t, rs.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ReadTimeout: 30 * time.Second, MaxRetries: -1})
	defer rdb.Close()
	l := &logs{}
	tier := newTier(t, rdb, func(c *oryredis.Config) {
		c.Timeout = 50 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(l, nil))
	})
	if err := up(t, tier); err != nil {
		t.Fatal(err)
	}
	k := random32(t)
	held, release := proxy.Arm(hex.EncodeToString(k), false)
	defer release()
	errc := make(chan error, 1)
	go func() { _, err := tier.Get(context.Background(), [][]byte{k}); errc <- err }()
	<-held
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a Get whose reply Redis never delivered succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get still waits for a held reply 5 s after its 50 ms budget")
	}
	if n := l.count("Redis unreachable or slow"); n != 1 {
		t.Fatalf("%d log lines about Redis being slow, want 1: the budget running out counts as Redis' failure", n)
	}
}

// Point 4: a write that reaches Redis after a logout or DeleteSessions
// does not store the session again.
func TestLateWriteCannotRestoreSession(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.client(t)
			flushAll(t, rdb)
			tier, other := newTier(t, rdb, nil), newTier(t, rdb, nil)
			ctx := context.Background()
			tests := []struct {
				name   string
				forget func(key, sid []byte) error
			}{
				{"Delete", func(key, _ []byte) error { return other.Delete(ctx, [][]byte{key}) }},
				{"DeleteSessions", func(_, sid []byte) error { return other.DeleteSessions(ctx, [][]byte{sid}) }},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					key, sid := random32(t), random32(t)
					if err := tc.forget(key, sid); err != nil {
						t.Fatal(err)
					}
					err := tier.Set(ctx, key, sid, []byte("late"), time.Minute)
					if !errors.Is(err, oryredis.ErrForgotten) {
						t.Fatalf("a write after the deletion returned %v, want it dropped", err)
					}
					if v, err := other.Get(ctx, [][]byte{key}); v != nil || err != nil {
						t.Fatalf("the late write is served: %q, %v", v, err)
					}
					if err := up(t, tier); err != nil {
						t.Fatalf("a dropped write took the tier down: %v", err)
					}
				})
			}
			t.Run("another form of a forgotten session", func(t *testing.T) {
				key, sid := random32(t), random32(t)
				if err := tier.Set(ctx, key, sid, []byte("v"), time.Minute); err != nil {
					t.Fatal(err)
				}
				if err := other.DeleteSessions(ctx, [][]byte{sid}); err != nil {
					t.Fatal(err)
				}
				if v, _ := other.Get(ctx, [][]byte{key}); v != nil {
					t.Fatal("DeleteSessions left the entry")
				}
				second := random32(t)
				if err := tier.Set(ctx, second, sid, []byte("v"), time.Minute); !errors.Is(err, oryredis.ErrForgotten) {
					t.Fatalf("a write for a forgotten session returned %v, want ErrForgotten", err)
				}
				if v, _ := other.Get(ctx, [][]byte{second}); v != nil {
					t.Fatal("a forgotten session was stored again under another credential")
				}
			})
		})
	}
}

// Point 4, the race itself: the write records its entry in the session's
// index, DeleteSessions runs on another instance, then the write's SET
// reaches Redis.
func TestLateSetAfterDeleteSessionsIsDropped(t *testing.T) {
	rs := redistest.StartT(t)
	proxy := redistest.NewStallProxy(t, rs.Addr)
	slow := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
	defer slow.Close()
	direct := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
	defer direct.Close()
	tier := newTier(t, slow, func(c *oryredis.Config) { c.Timeout = 10 * time.Second })
	other := newTier(t, direct, nil)
	ctx := context.Background()
	key, sid := random32(t), random32(t)
	// The write's data half names the key's marker; hold that request.
	held, release := proxy.Arm("x:{"+hex.EncodeToString(key)+"}", true)
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- tier.Set(ctx, key, sid, []byte("late"), time.Minute) }()
	select {
	case <-held:
	case err := <-errc:
		t.Fatalf("the write finished (%v) without a request naming the key's deletion marker", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the write never sent a request naming the key's deletion marker")
	}
	if err := other.DeleteSessions(ctx, [][]byte{sid}); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-errc; !errors.Is(err, oryredis.ErrForgotten) {
		t.Fatalf("the late write returned %v, want ErrForgotten", err)
	}
	if v, err := other.Get(ctx, [][]byte{key}); v != nil || err != nil {
		t.Fatalf("the late write brought the session back: %q, %v", v, err)
	}
}

// Point 5: a session's index stays bounded, drops members whose entries
// have ended, lives no longer than its longest entry, and the
// invalidation is published even when the deletion fails.
func TestSessionIndexStaysBounded(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.client(t)
			flushAll(t, rdb)
			const capacity = 8
			tier := newTier(t, rdb, func(c *oryredis.Config) { c.MaxSessionEntries = capacity })
			ctx := context.Background()
			sid := random32(t)
			idx := indexName(sid)
			// A member whose entry ended long ago, as an older write left it.
			if err := rdb.ZAdd(ctx, idx, redis.Z{Score: float64(time.Now().Add(-time.Hour).UnixMilli()), Member: dataName(random32(t))}).Err(); err != nil {
				t.Fatal(err)
			}
			var keys [][]byte
			for range capacity + 4 {
				k := random32(t)
				keys = append(keys, k)
				err := tier.Set(ctx, k, sid, []byte("v"), time.Minute)
				if len(keys) > capacity && !errors.Is(err, oryredis.ErrTooManyEntries) || len(keys) <= capacity && err != nil {
					t.Fatalf("write %d returned %v", len(keys), err)
				}
			}
			n, err := rdb.ZCard(ctx, idx).Result()
			if err != nil || n != capacity {
				t.Fatalf("the index holds %d members (%v), want the cap %d", n, err, capacity)
			}
			ttl, err := rdb.PTTL(ctx, idx).Result()
			if err != nil || ttl <= 0 || ttl > time.Minute {
				t.Fatalf("the index lives %v (%v), want at most its longest entry (1 min)", ttl, err)
			}
			stored := 0
			for _, k := range keys {
				if v, _ := tier.Get(ctx, [][]byte{k}); v != nil {
					stored++
				}
			}
			if stored != capacity {
				t.Fatalf("%d entries stored, want %d (a write past the cap is not)", stored, capacity)
			}
			if err := tier.DeleteSessions(ctx, [][]byte{sid}); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if v, _ := tier.Get(ctx, [][]byte{k}); v != nil {
					t.Fatal("an entry of the session survived DeleteSessions")
				}
			}
		})
	}
}

func TestInvalidationPublishedWhenDeletionFails(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.client(t)
			flushAll(t, rdb)
			ctx := context.Background()
			tier := newTier(t, rdb, nil)
			inv := watch(t, newTier(t, rdb, nil))
			sid := random32(t)
			// An index Redis cannot read as one: the deletion fails.
			for _, name := range []string{indexName(sid), oryredis.DefaultPrefix + "i:" + hex.EncodeToString(sid)} {
				if err := rdb.HSet(ctx, name, "f", "v").Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := tier.DeleteSessions(ctx, [][]byte{sid}); err == nil {
				t.Fatal("the deletion did not fail (the test proves nothing)")
			}
			if got := inv.next(t); len(got.Sessions) != 1 || !bytes.Equal(got.Sessions[0], sid) {
				t.Fatalf("got %+v, want the session's invalidation", got)
			}
		})
	}
}

// Watch's stop and Close remove subscribers: a guard that is rebuilt does
// not stay reachable from the tier.
func TestWatchStopsAndCloseDrops(t *testing.T) {
	rs := redistest.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	tier, err := oryredis.New(oryredis.Config{Client: rdb, Secrets: []string{secret1}})
	if err != nil {
		t.Fatal(err)
	}
	sender := newTier(t, rdb, nil)
	keep := watch(t, tier)
	var mu sync.Mutex
	calls := 0
	stop := tier.Watch(func(core.Invalidation) { mu.Lock(); calls++; mu.Unlock() })
	if n := tier.Subscribers(); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	stop()
	stop()
	if n := tier.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers after stop, want 1", n)
	}
	ctx := context.Background()
	if err := sender.Delete(ctx, [][]byte{random32(t)}); err != nil {
		t.Fatal(err)
	}
	keep.next(t) // delivered to the remaining subscriber, so dispatched
	mu.Lock()
	if calls != 0 {
		t.Fatalf("a stopped subscriber was called %d times", calls)
	}
	mu.Unlock()
	if err := tier.Close(); err != nil {
		t.Fatal(err)
	}
	if n := tier.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after Close, want 0", n)
	}
	tier.Subscribe(func(core.Invalidation) {})
	if n := tier.Subscribers(); n != 0 {
		t.Fatalf("Subscribe after Close registered a function")
	}
}

// Point 2 through a real server: clients that send a GET with a junk but
// well-formed session cookie and hang up at once do not take Redis out of
// the fleet. The handler waits until net/http has seen the client go, so
// every request reaches the guard with its context already canceled.
func TestHungUpClientsKeepRedisUp(t *testing.T) {
	rs := redistest.StartT(t)
	ory := orytest.NewServer()
	defer ory.Close()
	in := newInstance(t, rs.Addr, ory.URL, secret1)
	served := make(chan struct{}, 64)
	guarded := oryhttp.Middleware(in.guard)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the client hung up
		guarded.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	defer srv.Close()
	const clients = 20
	for i := range clients {
		c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: app\r\nCookie: ory_kratos_session=junk-%d-%x\r\n\r\n", i, random32(t))
		_ = c.Close()
	}
	for range clients {
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("a request never reached the guard")
		}
	}
	if n := in.logs.count("Redis unreachable"); n != 0 {
		t.Fatalf("clients that hung up took Redis out of the fleet (%d log lines)", n)
	}
	if err := up(t, in.tier); err != nil {
		t.Fatalf("the tier no longer calls Redis: %v", err)
	}
}

// A guard that is closed leaves nothing behind in the tier (config reloads,
// one guard per tenant): core uses the tier's Watch and Guard.Close stops it.
func TestGuardCloseUnsubscribes(t *testing.T) {
	rs := redistest.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	tier := newTier(t, rdb, nil)
	for i := range 3 {
		g, err := core.New(core.Config{OryURL: "http://127.0.0.1:1", Cache: core.CacheConfig{TTL: time.Minute, Shared: tier}})
		if err != nil {
			t.Fatal(err)
		}
		if n := tier.Subscribers(); n != 1 {
			t.Fatalf("guard %d: %d subscribers while it runs, want 1", i, n)
		}
		for range 2 {
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if n := tier.Subscribers(); n != 0 {
			t.Fatalf("guard %d: %d subscribers after Close, want 0", i, n)
		}
	}
}
