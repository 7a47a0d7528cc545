package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	oryredis "github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/fleet"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/redis/go-redis/v9"
)

const (
	fleetSecret = "fleet-test-secret-0123456789abcdefghijklmn"
	otherSecret = "other-fleet-secret-0123456789abcdefghijklm"
	password    = "fleet-test-password-8d1b5"
)

// ory is one Kratos shared by every test that needs no special settings.
var ory = harness.NewSharedKratos(harness.KratosOptions{})

// app is the fleetapp binary, built once for every test.
var app struct {
	once sync.Once
	err  error
	bin  string
	dir  string
}

func TestMain(m *testing.M) {
	harness.Main(m, func() {
		if app.dir != "" {
			_ = os.RemoveAll(app.dir)
		}
	})
}

// setup builds the app binary and starts the shared Kratos.
func setup(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping fleet test against a real Kratos and Redis in -short mode")
	}
	app.once.Do(func() {
		if app.dir, app.err = os.MkdirTemp("", "oryguard-fleet-*"); app.err != nil {
			return
		}
		app.bin, app.err = fleet.BuildApp(context.Background(), app.dir)
	})
	if app.err != nil {
		t.Fatal(app.err)
	}
	ory.Get(t)
}

// rig is three instances, one Redis, and the counting proxy before Kratos.
type rig struct {
	redis *harness.Redis
	proxy *fleet.Proxy
	apps  []*fleet.Instance
}

func newRig(t *testing.T, shared bool, ttl time.Duration) *rig {
	t.Helper()
	setup(t)
	r := &rig{redis: harness.StartRedisT(t)}
	p, err := fleet.NewProxy(ory.Get(t).PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	r.proxy = p
	cfg := fleet.AppConfig{OryURL: p.URL, TTL: ttl}
	if shared {
		cfg.Redis, cfg.Secrets = r.redis.Addr, []string{fleetSecret}
	}
	for range 3 {
		r.apps = append(r.apps, startInstance(t, cfg))
	}
	return r
}

// startInstance starts one app instance that stops when the test ends and
// logs its output if the test failed.
func startInstance(t *testing.T, cfg fleet.AppConfig) *fleet.Instance {
	t.Helper()
	in, err := fleet.Start(t.Context(), app.bin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Stop()
		if t.Failed() {
			t.Logf("instance %s log:\n%s", in.URL, in.Log())
		}
	})
	return in
}

func (r *rig) waitLogs(t *testing.T, s string, n int) {
	t.Helper()
	for range 500 {
		ok := true
		for _, in := range r.apps {
			if strings.Count(in.Log(), s) < n {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not every instance logged %q %d times", s, n)
}

var userSeq atomic.Int64

// login signs up a new identity and returns a native session.
func login(t *testing.T) *harness.APISession {
	t.Helper()
	email := fmt.Sprintf("fleet-%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1))
	s, err := ory.Get(t).RegisterAPI(t.Context(), email, password)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func me(t *testing.T, in *fleet.Instance, token string) int {
	t.Helper()
	st, err := in.Me(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// untilDenied polls in until it answers 401 and returns how long that took
// after since, or fails after limit.
func untilDenied(t *testing.T, in *fleet.Instance, token string, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		st, err := in.Me(context.Background(), token)
		if err != nil {
			t.Error(err)
			return 0
		}
		if st == http.StatusUnauthorized {
			return time.Since(since)
		}
		if st != http.StatusOK {
			t.Errorf("status %d while waiting for a denial", st)
			return 0
		}
		if time.Since(since) > limit {
			t.Errorf("%s still served the session %v after it was forgotten (the promise is 100 ms)", in.URL, limit)
			return 0
		}
	}
}

func TestOneWhoamiPerTTLAcrossInstances(t *testing.T) {
	tests := []struct {
		shared bool
		want   int64
	}{
		{true, 1},
		{false, 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("shared=%v", tc.shared), func(t *testing.T) {
			r := newRig(t, tc.shared, time.Minute)
			s := login(t)
			for i := range 30 {
				if st := me(t, r.apps[i%3], s.Token); st != http.StatusOK {
					t.Fatalf("status %d", st)
				}
			}
			if got := r.proxy.Whoami(); got != tc.want {
				t.Fatalf("%d whoami calls for one session on three instances, want %d", got, tc.want)
			}
		})
	}
}

func TestLogoutReachesEveryInstance(t *testing.T) {
	r := newRig(t, true, time.Minute)
	const runs = 20
	var lat, total []time.Duration
	for range runs {
		s := login(t)
		for _, in := range r.apps {
			if st := me(t, in, s.Token); st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
		}
		sent := time.Now()
		if st, err := r.apps[0].Logout(t.Context(), s.Token); err != nil || st != http.StatusNoContent {
			t.Fatalf("logout: status %d, %v", st, err)
		}
		start := time.Now() // A has answered: the user is logged out
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, in := range r.apps[1:] {
			wg.Go(func() {
				d := untilDenied(t, in, s.Token, start, time.Second)
				mu.Lock()
				lat = append(lat, d)
				total = append(total, d+start.Sub(sent))
				mu.Unlock()
			})
		}
		wg.Wait()
		if me(t, r.apps[0], s.Token) != http.StatusUnauthorized {
			t.Fatal("the instance that logged out still serves the session")
		}
	}
	slices.Sort(lat)
	slices.Sort(total)
	t.Logf("logout through A until B and C deny (%d samples): after A answered p50 %v, p99 %v; from the logout request p50 %v, p99 %v",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], total[len(total)/2], total[len(total)*99/100])
}

func TestAdminRevocationAndForgetSession(t *testing.T) {
	r := newRig(t, true, time.Minute)
	s := login(t)
	for _, in := range r.apps {
		if st := me(t, in, s.Token); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
	}
	if err := ory.Get(t).RevokeSession(t.Context(), s.SessionID); err != nil {
		t.Fatal(err)
	}
	for _, in := range r.apps {
		if st := me(t, in, s.Token); st != http.StatusOK {
			t.Fatalf("status %d before ForgetSession: the cache was not used (the test proves nothing)", st)
		}
	}
	start := time.Now()
	if st, err := r.apps[1].Forget(t.Context(), s.SessionID); err != nil || st != http.StatusNoContent {
		t.Fatalf("forget: status %d, %v", st, err)
	}
	for _, in := range r.apps {
		untilDenied(t, in, s.Token, start, time.Second)
	}
}

func TestRedisKilledMidTraffic(t *testing.T) {
	const ttl = 2 * time.Second
	r := newRig(t, true, ttl)
	sessions := []*harness.APISession{login(t), login(t), login(t)}
	revoked := login(t)
	ctx, stop := context.WithCancel(t.Context())
	var bad, served atomic.Int64
	var revokedAt atomic.Int64 // unix ns when revoked was revoked in Kratos
	var lateServe atomic.Int64
	var wg sync.WaitGroup
	for i, in := range r.apps {
		wg.Go(func() {
			for n := i; ctx.Err() == nil; n++ {
				s := sessions[n%len(sessions)]
				st, err := in.Me(ctx, s.Token)
				if ctx.Err() != nil {
					return
				}
				if err != nil || st != http.StatusOK {
					bad.Add(1)
				}
				served.Add(1)
				st, err = in.Me(ctx, revoked.Token)
				if ctx.Err() != nil {
					return
				}
				if err != nil || st >= 500 {
					bad.Add(1)
				}
				if at := revokedAt.Load(); st == http.StatusOK && at != 0 && time.Since(time.Unix(0, at)) > ttl+500*time.Millisecond {
					lateServe.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	r.redis.Kill()
	time.Sleep(300 * time.Millisecond)
	// Revoked in Kratos while Redis is down, and nobody tells the fleet.
	if err := ory.Get(t).RevokeSession(t.Context(), revoked.SessionID); err != nil {
		t.Fatal(err)
	}
	revokedAt.Store(time.Now().UnixNano())
	time.Sleep(ttl + time.Second)
	if err := r.redis.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.waitLogs(t, "Redis reachable again", 1)
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d wrong answers (5xx or a valid session denied) of %d while Redis was killed", n, served.Load())
	}
	if n := lateServe.Load(); n != 0 {
		t.Errorf("%d requests served a session Kratos refused, later than the TTL after its revocation", n)
	}
	for _, in := range r.apps {
		if n := strings.Count(in.Log(), "Redis unreachable"); n != 1 {
			t.Errorf("%s logged %d lines about Redis being down, want 1", in.URL, n)
		}
	}
	// Sharing resumes: a new session costs one whoami for all three.
	s := login(t)
	before := r.proxy.Whoami()
	for _, in := range r.apps {
		if st := me(t, in, s.Token); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
	}
	if got := r.proxy.Whoami() - before; got != 1 {
		t.Fatalf("%d whoami calls for a new session on three instances after Redis came back, want 1", got)
	}
	t.Logf("%d requests while Redis was killed and restarted, none wrong", served.Load())
}

func TestTamperedOrForeignValueIsAMiss(t *testing.T) {
	r := newRig(t, true, time.Minute)
	ctx := t.Context()
	rdb := redis.NewClient(&redis.Options{Addr: r.redis.Addr})
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
			v[len(v)-1] ^= 0x80
			if err := rdb.Set(ctx, key, v, redis.KeepTTL).Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"another fleet secret", func(t *testing.T, key string) {
			k := keyBytes(t, key)
			mine := tier(t, rdb, fleetSecret)
			plain, err := mine.Get(ctx, [][]byte{k})
			if err != nil || plain == nil {
				t.Fatalf("read the entry back: %v", err)
			}
			if err := tier(t, rdb, otherSecret).Set(ctx, k, make([]byte, 32), plain, time.Minute); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := login(t)
			a, b := r.apps[2*i%3], r.apps[(2*i+1)%3]
			if st := me(t, a, s.Token); st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
			keys, err := rdb.Keys(ctx, oryredis.DefaultPrefix+"s:*").Result()
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys %v (%v), want the one entry", keys, err)
			}
			if err := ory.Get(t).RevokeSession(ctx, s.SessionID); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, keys[0])
			before := r.proxy.Whoami()
			if st := me(t, b, s.Token); st != http.StatusUnauthorized {
				t.Fatalf("status %d: a value that does not open was served as a session", st)
			}
			if got := r.proxy.Whoami() - before; got != 1 {
				t.Fatalf("%d whoami calls, want 1: the bad value is a miss", got)
			}
			if !strings.Contains(b.Log(), "does not open") {
				t.Fatal("the bad value was not logged")
			}
			rdb.FlushAll(ctx)
		})
	}
}

func tier(t *testing.T, rdb *redis.Client, secret string) *oryredis.Tier {
	t.Helper()
	tr, err := oryredis.New(oryredis.Config{Client: rdb, Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func keyBytes(t *testing.T, name string) []byte {
	t.Helper()
	var b []byte
	// The tier names an entry prefix + "s:{" + hex key + "}" (the braces
	// are a Redis Cluster hash tag).
	hexKey := strings.TrimSuffix(strings.TrimPrefix(name, oryredis.DefaultPrefix+"s:{"), "}")
	if _, err := fmt.Sscanf(hexKey, "%x", &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Ory-Session-Cache-For against the real Kratos with
// feature_flags.cacheable_sessions: an entry lives at most that long, even
// when the guard's TTL is an hour.
func TestOrySessionCacheForFromKratos(t *testing.T) {
	setup(t)
	kr := harness.StartKratosT(t, harness.KratosOptions{CacheableSessions: true, CacheableSessionsMaxAge: 2 * time.Second})
	s, err := kr.RegisterAPI(t.Context(), "cachefor@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kr.WhoamiToken(t.Context(), s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if h := w.Header.Get("Ory-Session-Cache-For"); h != "2" {
		t.Fatalf("Kratos sent Ory-Session-Cache-For %q, want 2 (is the feature flag on?)", h)
	}
	p, err := fleet.NewProxy(kr.PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g, err := core.New(core.Config{OryURL: p.URL, Cache: core.CacheConfig{TTL: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ask := func() {
		t.Helper()
		if d := g.Route().Authenticate(t.Context(), &core.Request{URI: "/", SessionToken: s.Token}); !d.Allow {
			t.Fatalf("denied: %d", d.Status)
		}
	}
	start := time.Now()
	ask()
	ask()
	if n := p.Whoami(); n != 1 && time.Since(start) < time.Second {
		t.Fatalf("%d whoami calls for two requests in a row, want 1 (the cache is on)", n)
	}
	time.Sleep(time.Until(start.Add(2500 * time.Millisecond)))
	ask()
	if n := p.Whoami(); n < 2 {
		t.Fatalf("%d whoami calls: the entry outlived Ory-Session-Cache-For: 2 (TTL 1h)", n)
	}
}

// meCookie asks in's /me with the given Cookie header and returns the status.
func meCookie(t *testing.T, in *fleet.Instance, cookie string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, in.URL+"/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	resp, err := fleet.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// getWithCookie sends a GET with the Cookie header and returns the response
// (body closed).
func getWithCookie(t *testing.T, u, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	resp, err := fleet.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp
}

// TestLogoutEndsEverySpellingAcrossInstances is issue 21's point 1 end to
// end: the victim's browser cookie is cached on A as the victim sends it,
// and on B and C in the attacker's spelling of the same session (another
// cache key): the stolen cookie plus a junk ory_session_zz cookie, or an
// older encoding of the session cookie from before Kratos re-issued it. The
// victim logs out through A; the attacker's spelling must be denied on
// every instance without waiting for the TTL, because logout forgets by
// session ID, not by the bytes A saw.
func TestLogoutEndsEverySpellingAcrossInstances(t *testing.T) {
	junkCookie := func(_ *testing.T, bs *harness.BrowserSession) (string, string) {
		plain := bs.Cookie.Name + "=" + bs.Cookie.Value
		return plain, plain + "; ory_session_zz=1"
	}
	tests := []struct {
		name string
		// spellings returns the victim's and the attacker's Cookie headers.
		spellings func(t *testing.T, bs *harness.BrowserSession) (victim, attacker string)
		// uncached: the victim's own spelling is cached nowhere when the
		// victim logs out (not on A, not in the tier), so A learns the
		// session's ID from Ory's whoami.
		uncached bool
	}{
		{"junk cookie added", junkCookie, false},
		{"junk cookie added, victim's cookie cached nowhere", junkCookie, true},
		{"older encoding", func(t *testing.T, bs *harness.BrowserSession) (string, string) {
			t.Helper()
			again, err := ory.Get(t).ReauthenticateBrowser(t.Context(), bs, password, nil)
			if err != nil {
				t.Fatal(err)
			}
			if again.SessionID != bs.SessionID || again.Cookie.Value == bs.Cookie.Value {
				t.Fatalf("re-authentication gave session %s with a new cookie %v; want session %s re-encoded",
					again.SessionID, again.Cookie.Value != bs.Cookie.Value, bs.SessionID)
			}
			return again.Cookie.Name + "=" + again.Cookie.Value, bs.Cookie.Name + "=" + bs.Cookie.Value
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, true, time.Hour) // a TTL no test waits out
			email := fmt.Sprintf("fleet-browser-%d-%d@example.com", time.Now().UnixNano(), userSeq.Add(1))
			bs, err := ory.Get(t).RegisterBrowser(t.Context(), email, password)
			if err != nil {
				t.Fatal(err)
			}
			plain, junk := tc.spellings(t, bs)
			logoutEndsSpelling(t, r, plain, junk, tc.uncached)
		})
	}
}

// logoutEndsSpelling caches the victim's spelling on A (unless uncached)
// and the attacker's on B and C, logs out through A with the victim's, and
// checks that the attacker's is denied on every instance at once.
func logoutEndsSpelling(t *testing.T, r *rig, plain, junk string, uncached bool) {
	t.Helper()
	a, others := r.apps[0], r.apps[1:]
	if !uncached {
		if st := meCookie(t, a, plain); st != http.StatusOK {
			t.Fatalf("A with the victim's spelling: status %d", st)
		}
	}
	for _, in := range others {
		if st := meCookie(t, in, junk); st != http.StatusOK {
			t.Fatalf("%s with the attacker's spelling: status %d", in.URL, st)
		}
	}
	before := r.proxy.Whoami()
	for _, in := range r.apps { // every spelling is now cached: no whoami
		if st := meCookie(t, in, junk); st != http.StatusOK {
			t.Fatalf("%s with the attacker's spelling, cached: status %d", in.URL, st)
		}
	}
	if got := r.proxy.Whoami() - before; got > 1 {
		// A may ask once: its plain spelling and the junk one are
		// different keys, and A has not seen the junk one locally; the
		// shared tier answers B and C's spelling.
		t.Fatalf("%d whoami calls for a cached session", got)
	}

	resp := getWithCookie(t, a.URL+"/logout", plain)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/self-service/logout?") {
		t.Fatalf("logout through A: status %d, Location %q; want 303 to Kratos' logout URL", resp.StatusCode, loc)
	}
	if resp := getWithCookie(t, loc, plain); resp.StatusCode >= http.StatusBadRequest {
		t.Fatalf("following Kratos' logout URL: status %d", resp.StatusCode)
	}
	for _, c := range []string{plain, junk} {
		cookies, err := http.ParseCookie(c)
		if err != nil {
			t.Fatal(err)
		}
		wr, err := ory.Get(t).WhoamiCookie(t.Context(), cookies[0])
		if err != nil {
			t.Fatal(err)
		}
		if wr.Status != http.StatusUnauthorized {
			t.Fatalf("Kratos still knows the session after logout: status %d", wr.Status)
		}
	}

	// A forgot the session when it created the logout flow; B and C hear of
	// it through the tier. Poll each with the attacker's spelling, bounded.
	start, asked := time.Now(), r.proxy.Whoami()
	var wg sync.WaitGroup
	var polls atomic.Int64
	for _, in := range r.apps {
		wg.Go(func() {
			for {
				polls.Add(1)
				st := meCookie(t, in, junk)
				if st == http.StatusUnauthorized {
					return
				}
				if st != http.StatusOK {
					t.Errorf("%s: status %d while waiting for a denial", in.URL, st)
					return
				}
				if time.Since(start) > time.Second {
					t.Errorf("%s still serves the attacker's spelling %v after the logout (TTL 1 h)", in.URL, time.Second)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The denials are Ory's: the entries were forgotten (not left to serve
	// until the TTL), so an instance asks Kratos, which answers 401.
	if got := r.proxy.Whoami() - asked; got < 1 || got > polls.Load() {
		t.Errorf("%d whoami calls for %d requests after the logout, want between 1 and %d", got, polls.Load(), polls.Load())
	}
	t.Logf("denied on every instance %v after the logout; %d whoami calls for %d requests", time.Since(start), r.proxy.Whoami()-asked, polls.Load())
	// Forgotten, not shadowed: once denied, the answer is Ory's own 401 and
	// stays a denial; nothing of the old session comes back from the tier.
	for _, in := range r.apps {
		for _, c := range []string{junk, plain} {
			if st := meCookie(t, in, c); st != http.StatusUnauthorized {
				t.Errorf("%s with the victim's or the attacker's spelling after logout: status %d, want 401", in.URL, st)
			}
		}
	}
}
