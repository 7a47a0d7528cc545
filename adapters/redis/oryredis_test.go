package oryredis_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/adapters/redis/redistest"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/redis/go-redis/v9"
)

const (
	secret1 = "test-fleet-secret-one-0123456789abcdef"
	secret2 = "test-fleet-secret-two-0123456789abcdef"
)

// logs collects log lines safely across goroutines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

type instance struct {
	guard *core.Guard
	tier  *oryredis.Tier
	logs  *logs
}

func newInstance(t *testing.T, addr, ory string, secrets ...string) *instance {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	return newInstanceOn(t, rdb, ory, secrets...)
}

// newInstanceOn is an instance of the app on the Redis rdb talks to.
func newInstanceOn(t *testing.T, rdb redis.UniversalClient, ory string, secrets ...string) *instance {
	t.Helper()
	l := &logs{}
	tier, err := oryredis.New(oryredis.Config{
		Client: rdb, Secrets: secrets, Timeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(l, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tier.Close() })
	g, err := core.New(core.Config{
		OryURL: ory, Logger: slog.New(slog.NewTextHandler(l, nil)),
		Cache: core.CacheConfig{TTL: time.Minute, Shared: tier},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &instance{guard: g, tier: tier, logs: l}
}

func (in *instance) allowed(cookie string) bool {
	r := &core.Request{Method: http.MethodGet, URI: "/", Accept: "text/html", Cookies: []string{cookie}}
	return in.guard.Route().Authenticate(context.Background(), r).Allow
}

func session(t *testing.T, id string) []byte {
	t.Helper()
	b, err := json.Marshal(orytest.ActiveSession(id, "secret-person@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func revoke(ory *orytest.Server, cred string) {
	ory.Reply(cred, orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
}

// eventually polls cond for up to two seconds; invalidations travel
// through Redis, so they arrive shortly after the call that sent them.
func eventually(cond func() bool) bool {
	for range 200 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestNewSaysWhatToSet(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	tests := []struct {
		name string
		cfg  oryredis.Config
		want string
	}{
		{"no client", oryredis.Config{Secrets: []string{secret1}}, "Config.Client"},
		{"no secret", oryredis.Config{Client: rdb}, "Config.Secrets"},
		{"short secret", oryredis.Config{Client: rdb, Secrets: []string{secret1, "short"}}, "at least 32 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tier, err := oryredis.New(tc.cfg)
			if err == nil {
				_ = tier.Close()
				t.Fatal("New accepted the configuration")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// Two instances share an answer and forget it together, on a single
// redis-server and on a Redis Cluster.
func TestFleetSharesAndForgets(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fleetSharesAndForgets(t, b.client(t)) })
	}
}

func fleetSharesAndForgets(t *testing.T, rdb redis.UniversalClient) {
	tests := []struct {
		name   string
		forget func(a *instance) error
	}{
		{"logout", func(a *instance) error {
			a.guard.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", Cookies: []string{"ory_kratos_session=c1"}})
			return nil
		}},
		{"native logout", nil},
		{"ForgetSession", func(a *instance) error { return a.guard.ForgetSession(context.Background(), "s1") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flushAll(t, rdb) // the last subtest's deletion markers
			ory := orytest.NewServer()
			defer ory.Close()
			cookie := "ory_kratos_session=c1"
			ory.Reply("c1", orytest.Reply{Body: session(t, "s1")})
			a, b := newInstanceOn(t, rdb, ory.URL, secret1), newInstanceOn(t, rdb, ory.URL, secret1)
			native := tc.forget == nil
			check := func(in *instance) bool { return in.allowed(cookie) }
			if native {
				ory.Reply("tok1", orytest.Reply{Body: session(t, "s1")})
				check = func(in *instance) bool {
					return in.guard.Route().Authenticate(context.Background(), &core.Request{URI: "/", SessionToken: "tok1"}).Allow
				}
			}
			if !check(a) || !check(b) || !check(b) {
				t.Fatal("denied")
			}
			if c := ory.Calls(); c != 1 {
				t.Fatalf("%d whoami calls for one session on two instances, want 1", c)
			}
			revoke(ory, "c1")
			revoke(ory, "tok1")
			if !check(b) {
				t.Fatal("b did not serve its cached entry (the test proves nothing)")
			}
			if native {
				a.guard.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", SessionToken: "tok1"})
			} else if err := tc.forget(a); err != nil {
				t.Fatal(err)
			}
			if !eventually(func() bool { return !check(b) }) || check(a) {
				t.Fatal("an instance still serves the forgotten session")
			}
		})
	}
}

func TestRedisHoldsNoCredentialNorIdentity(t *testing.T) {
	rs := redistest.StartT(t)
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("credential-value-1", orytest.Reply{Body: session(t, "session-id-1")})
	a := newInstance(t, rs.Addr, ory.URL, secret1)
	if !a.allowed("ory_kratos_session=credential-value-1") {
		t.Fatal("denied")
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 2 {
		t.Fatalf("keys %v, err %v: want an entry and its session index", keys, err)
	}
	for _, k := range keys {
		dump, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"credential-value-1", "session-id-1", "secret-person", secret1} {
			if strings.Contains(k, secret) || strings.Contains(dump, secret) {
				t.Errorf("Redis key %s holds %q", k, secret)
			}
		}
	}
}

func TestTamperedOrForeignValueIsAMiss(t *testing.T) {
	rs := redistest.StartT(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	tests := []struct {
		name   string
		tamper func(t *testing.T, key string)
	}{
		{"byte flipped", func(t *testing.T, key string) {
			v, err := rdb.Get(ctx, key).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			v[len(v)/2] ^= 1
			rdb.Set(ctx, key, v, redis.KeepTTL)
		}},
		{"another fleet secret", func(t *testing.T, key string) {
			// The same session, sealed under another fleet's secret and
			// put where this fleet looks.
			in := newInstance(t, rs.Addr, "http://127.0.0.1:1", secret1)
			plain, err := in.tier.Get(ctx, [][]byte{keyBytes(t, key)})
			if err != nil || plain == nil {
				t.Fatalf("read the entry: %v", err)
			}
			other, err := oryredis.New(oryredis.Config{Client: rdb, Secrets: []string{secret2}})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if err := other.Set(ctx, keyBytes(t, key), make([]byte, 32), plain, time.Minute); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb.FlushAll(ctx)
			ory := orytest.NewServer()
			defer ory.Close()
			ory.Reply("c1", orytest.Reply{Body: session(t, "s1")})
			if !newInstance(t, rs.Addr, ory.URL, secret1).allowed("ory_kratos_session=c1") {
				t.Fatal("denied")
			}
			keys, _ := rdb.Keys(ctx, oryredis.DefaultPrefix+"s:*").Result()
			if len(keys) != 1 {
				t.Fatalf("keys %v, want one entry", keys)
			}
			tc.tamper(t, keys[0])
			revoke(ory, "c1")
			b := newInstance(t, rs.Addr, ory.URL, secret1)
			if b.allowed("ory_kratos_session=c1") {
				t.Fatal("a value that does not open was served as a session")
			}
			if ory.Calls() != 2 {
				t.Fatalf("%d whoami calls, want 2 (the bad value is a miss)", ory.Calls())
			}
			if n := b.logs.count("does not open"); n != 1 {
				t.Fatalf("%d log lines about the bad value, want 1", n)
			}
		})
	}
}

func keyBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Trim(strings.TrimPrefix(name, oryredis.DefaultPrefix+"s:"), "{}"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRedisDownThenBack(t *testing.T) {
	rs := redistest.StartT(t)
	ory := orytest.NewServer()
	defer ory.Close()
	for _, c := range []string{"c1", "c2", "c3"} {
		ory.Reply(c, orytest.Reply{Body: session(t, "s-"+c)})
	}
	a, b := newInstance(t, rs.Addr, ory.URL, secret1), newInstance(t, rs.Addr, ory.URL, secret1)
	if !a.allowed("ory_kratos_session=c1") || !b.allowed("ory_kratos_session=c1") {
		t.Fatal("denied")
	}
	rs.Kill()
	// Down: every answer comes from the local cache or Ory, none is an error.
	for range 20 {
		for _, in := range []*instance{a, b} {
			for _, c := range []string{"c1", "c2"} {
				if !in.allowed("ory_kratos_session=" + c) {
					t.Fatalf("%s denied while Redis is down", c)
				}
			}
			if in.allowed("ory_kratos_session=unknown") {
				t.Fatal("an unknown credential passed while Redis is down")
			}
		}
	}
	for name, in := range map[string]*instance{"a": a, "b": b} {
		if n := in.logs.count("Redis unreachable"); n != 1 {
			t.Errorf("instance %s logged %d lines about Redis being down, want 1", name, n)
		}
	}
	if err := rs.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool {
		return a.logs.count("reachable again") == 1 && b.logs.count("reachable again") == 1 && b.logs.count("channel back") == 1
	}) {
		t.Fatal("the tier did not notice Redis coming back")
	}
	// Back: sharing resumes (and both cleared their entries on reconnect).
	before := ory.Calls()
	if !a.allowed("ory_kratos_session=c3") || !b.allowed("ory_kratos_session=c3") {
		t.Fatal("denied")
	}
	if c := ory.Calls() - before; c != 1 {
		t.Fatalf("%d whoami calls for a new session on two instances after Redis came back, want 1", c)
	}
}

func TestLostChannelClearsLocalEntries(t *testing.T) {
	rs := redistest.StartT(t)
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("c1", orytest.Reply{Body: session(t, "s1")})
	a := newInstance(t, rs.Addr, ory.URL, secret1)
	if !a.allowed("ory_kratos_session=c1") {
		t.Fatal("denied")
	}
	revoke(ory, "c1")
	if !a.allowed("ory_kratos_session=c1") {
		t.Fatal("not served from the cache (the test proves nothing)")
	}
	// A restart loses the channel (and Redis' data, so the entry is not
	// read back): a logout published meanwhile may have been missed.
	if err := rs.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return !a.allowed("ory_kratos_session=c1") }) {
		t.Fatal("the instance kept its entries after losing its invalidation channel")
	}
}
