package reliability_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/faultproxy"
	"github.com/oryguard/oryguard/internal/e2e/reliability/rig"
)

// faultTimeout is the guard's Timeout in the fault tests; slack is how much
// longer than that a failing request may take on a loaded 2-core machine
// under -race.
const (
	faultTimeout = 400 * time.Millisecond
	slack        = 600 * time.Millisecond
)

// fault is one way Ory can fail, with the answer the guard documents for it.
type fault struct {
	name       string
	proxy      *faultproxy.Mode // injected between the guard and a real Kratos
	fake       *orytest.Reply   // answered by the fake Ory
	status     int              // the guard's answer on a required route
	retryAfter string           // the Retry-After it passes on
	minTook    time.Duration    // timeouts: the guard waited this long
}

func modePtr(m faultproxy.Mode) *faultproxy.Mode { return &m }

func faults() []fault {
	sessionBody := mustJSON(orytest.ActiveSession("fake-session", "fake@example.com"))
	return []fault{
		{name: "refused (listener closed)", proxy: modePtr(faultproxy.Refuse()), status: 502},
		{name: "hang", proxy: modePtr(faultproxy.Hang()), fake: &orytest.Reply{Hang: true}, status: 504, minTook: faultTimeout},
		{name: "slow answer beyond the timeout", proxy: modePtr(faultproxy.Slow(3 * time.Second)), fake: &orytest.Reply{Delay: 3 * time.Second, Body: sessionBody}, status: 504, minTook: faultTimeout},
		{name: "lagging answer beyond the timeout", proxy: modePtr(faultproxy.Lag(3 * time.Second)), status: 504, minTook: faultTimeout},
		{name: "body dripping past the timeout", proxy: modePtr(faultproxy.Drip(50 * time.Millisecond)), status: 504, minTook: faultTimeout},
		{name: "500", proxy: modePtr(faultproxy.Status(500, nil)), fake: &orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}, status: 502},
		{name: "502", proxy: modePtr(faultproxy.Status(502, nil)), fake: &orytest.Reply{Status: 502}, status: 502},
		{name: "503", proxy: modePtr(faultproxy.Status(503, http.Header{"Retry-After": {"30"}})), fake: &orytest.Reply{Status: 503, Body: []byte("oops")}, status: 502},
		{name: "504", proxy: modePtr(faultproxy.Status(504, nil)), fake: &orytest.Reply{Status: 504}, status: 502},
		{name: "404 (wrong Ory URL)", proxy: modePtr(faultproxy.Status(404, nil)), fake: &orytest.Reply{Status: 404, Body: []byte("404 page not found")}, status: 502},
		{name: "302 (redirect not followed)", proxy: modePtr(faultproxy.Status(302, http.Header{"Location": {"http://127.0.0.1:1/elsewhere"}})), fake: &orytest.Reply{Status: 302, Header: http.Header{"Location": {"http://127.0.0.1:1/x"}}}, status: 502},
		{name: "429 with Retry-After", proxy: modePtr(faultproxy.TooManyRequests("1")), fake: &orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"1"}}}, status: 429, retryAfter: "1"},
		{name: "connection closed mid-body", proxy: modePtr(faultproxy.Cut()), fake: &orytest.Reply{Truncate: true, Body: sessionBody}, status: 502},
		{name: "body that does not decode", proxy: modePtr(faultproxy.Garbage()), fake: &orytest.Reply{Body: []byte(`{"id": 12, not json`)}, status: 502},
		{name: "200 with an HTML body", proxy: &faultproxy.Mode{Kind: faultproxy.KindStatus, Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>login</html>")}, fake: &orytest.Reply{Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>")}, status: 502},
		{name: "200 with an empty body", proxy: &faultproxy.Mode{Kind: faultproxy.KindStatus, Status: 200}, fake: &orytest.Reply{}, status: 502},
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// backend is an Ory that can be made to fail.
type backend struct {
	name   string
	url    string
	cookie rig.Cred
	token  rig.Cred
	set    func(t *testing.T, f fault) bool // false: the backend cannot inject f
	heal   func(t *testing.T)
	calls  func() int64
}

func kratosBackend(t *testing.T) backend {
	srv := sharedKratos(t)
	bs, as := sessions(t, srv)
	p, err := faultproxy.New(srv.PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return backend{
		name: "kratos+faultproxy", url: p.URL(), cookie: cookie(bs), token: token(as),
		set: func(t *testing.T, f fault) bool {
			if f.proxy == nil {
				return false
			}
			if err := p.Set(*f.proxy); err != nil {
				t.Fatal(err)
			}
			return true
		},
		heal: func(t *testing.T) {
			if err := p.Set(faultproxy.Pass()); err != nil {
				t.Fatal(err)
			}
		},
		calls: func() int64 { return p.RequestsTo("/sessions/whoami") },
	}
}

func fakeBackend(t *testing.T) backend {
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session("fake-cookie-value", orytest.ActiveSession("fake-cookie-session", "c@example.com"))
	ory.Session("fake-token-value", orytest.ActiveSession("fake-token-session", "t@example.com"))
	return backend{
		name: "orytest", url: ory.URL,
		cookie: rig.Cred{Cookie: &http.Cookie{Name: "ory_kratos_session", Value: "fake-cookie-value"}},
		token:  rig.Cred{Token: "fake-token-value"},
		set: func(t *testing.T, f fault) bool {
			if f.fake == nil {
				return false
			}
			ory.ReplyAll(f.fake)
			return true
		},
		heal:  func(*testing.T) { ory.ReplyAll(nil) },
		calls: func() int64 { return int64(ory.Calls()) },
	}
}

// TestFaults injects every fault in front of a real Kratos (through the
// fault proxy) and into the fake Ory, and checks for each: the documented
// status on a required route for a browser and for an API client, within
// the timeout, no login redirect, the protected handler not run, exactly one
// log line; an optional route runs its handler without a session; and once
// Ory is healthy again the same app (never restarted) lets the session in.
func TestFaults(t *testing.T) {
	backends := []func(*testing.T) backend{kratosBackend, fakeBackend}
	for _, mk := range backends {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			for _, f := range faults() {
				t.Run(f.name, func(t *testing.T) {
					if !b.set(t, f) {
						t.Skipf("%s cannot inject this fault", b.name)
					}
					defer b.heal(t)
					checkFault(t, b.url, f, b.cookie, false, b.heal)
					b.set(t, f)
					checkFault(t, b.url, f, b.token, true, b.heal)
					b.set(t, f)
					checkOptional(t, b.url, b.cookie)
				})
			}
		})
	}
}

func faultApp(t *testing.T, oryURL string, mutate func(*core.Config)) *rig.App {
	cfg := core.Config{OryURL: oryURL, Timeout: faultTimeout}
	if mutate != nil {
		mutate(&cfg)
	}
	return newApp(t, cfg)
}

func checkFault(t *testing.T, oryURL string, f fault, cred rig.Cred, api bool, heal func(*testing.T)) {
	t.Helper()
	kind := "browser"
	if api {
		kind = "API"
	}
	a := faultApp(t, oryURL, nil)
	r := a.Get(t.Context(), rig.PathRequired, cred, api)
	checkFailure(t, kind, a, r, f.status, f.retryAfter, f.minTook)
	t.Logf("%s: %d Retry-After=%q in %s", kind, r.Status, r.RetryAfter, r.Took().Round(time.Millisecond))

	// Ory recovers: the same app lets the session in (after the backoff a
	// 429 asked for).
	heal(t)
	if f.status == 429 {
		again := a.Get(t.Context(), rig.PathRequired, cred, api)
		if again.Status != 429 || again.RetryAfter == "" {
			t.Errorf("%s: during the backoff got %s, want 429 with Retry-After", kind, again.Describe())
		}
		time.Sleep(1100 * time.Millisecond)
	}
	ok := a.Get(t.Context(), rig.PathRequired, cred, api)
	if ok.Status != 200 || ok.SessionID == "" {
		t.Errorf("%s: after Ory recovered got %s, want 200 with the session", kind, ok.Describe())
	}
}

// checkFailure asserts the documented answer to an Ory failure.
func checkFailure(t *testing.T, kind string, a *rig.App, r rig.Result, status int, retryAfter string, minTook time.Duration) {
	t.Helper()
	if r.Err != nil || r.Status != status {
		t.Errorf("%s: got %s, want %d", kind, r.Describe(), status)
	}
	if r.Location != "" {
		t.Errorf("%s: an Ory failure redirected to %q", kind, r.Location)
	}
	if retryAfter != "" && r.RetryAfter != retryAfter {
		t.Errorf("%s: Retry-After = %q, want %q", kind, r.RetryAfter, retryAfter)
	}
	if a.Handled() != 0 {
		t.Errorf("%s: the protected handler ran", kind)
	}
	if r.Took() > faultTimeout+slack {
		t.Errorf("%s: answered after %s, timeout %s", kind, r.Took(), faultTimeout)
	}
	if r.Took() < minTook-20*time.Millisecond {
		t.Errorf("%s: answered after %s, before the timeout %s", kind, r.Took(), minTook)
	}
	if n := a.Logs.Lines(); n != 1 {
		t.Errorf("%s: %d log lines, want 1:\n%s", kind, n, a.Logs.String())
	}
}

func checkOptional(t *testing.T, oryURL string, cred rig.Cred) {
	t.Helper()
	a := faultApp(t, oryURL, nil)
	r := a.Get(t.Context(), rig.PathOptional, cred, false)
	if r.Status != 200 || r.Body != "anonymous" || a.Handled() != 1 {
		t.Errorf("optional route: got %s, want 200 without a session", r.Describe())
	}
	if n := a.Logs.Lines(); n != 1 {
		t.Errorf("optional route: %d log lines, want 1:\n%s", n, a.Logs.String())
	}
}

// TestNetworkFaults covers failures below HTTP: nothing listening, no route
// to the host, a name that does not resolve, and a host that never answers
// the connection (SYN dropped). The last three are injected with a dialer;
// no traffic leaves 127.0.0.1.
func TestNetworkFaults(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	_ = l.Close()

	dialer := func(dial func(ctx context.Context) error) *http.Client {
		return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return nil, dial(ctx)
		}}}
	}
	cases := []struct {
		name    string
		client  *http.Client
		status  int
		minTook time.Duration
	}{
		{"connection refused", nil, 502, 0},
		{"no route to host", dialer(func(context.Context) error {
			return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
		}), 502, 0},
		{"name does not resolve", dialer(func(context.Context) error {
			return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "ory.invalid", IsNotFound: true}}
		}), 502, 0},
		{"SYN dropped (blackhole)", dialer(func(ctx context.Context) error {
			<-ctx.Done()
			return &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
		}), 504, faultTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, api := range []bool{false, true} {
				a := faultApp(t, closed, func(c *core.Config) { c.HTTPClient = tc.client })
				cred := rig.Cred{Cookie: &http.Cookie{Name: "ory_kratos_session", Value: "some-session"}}
				if api {
					cred = rig.Cred{Token: "some-token"}
				}
				r := a.Get(t.Context(), rig.PathRequired, cred, api)
				checkFailure(t, map[bool]string{false: "browser", true: "API"}[api], a, r, tc.status, "", tc.minTook)
				t.Logf("api=%v: %d in %s", api, r.Status, r.Took().Round(time.Millisecond))
			}
		})
	}
}

// TestRateLimitBackoffAgainstKratos: after a 429 with Retry-After the guard
// honours it without locking everyone out. While Ory keeps answering 429,
// at most core.BackoffProbesPerSecond lookups a second reach it, whatever
// the credential, and cached sessions keep working. Once Ory answers
// again, a user whose session it knows gets through within a few seconds
// although Retry-After said 60: the first probe Ory answers ends the
// backoff: one 429, which anyone can draw with a burst of junk
// credentials, must not keep every uncached user out for the whole
// Retry-After.
func TestRateLimitBackoffAgainstKratos(t *testing.T) {
	srv := sharedKratos(t)
	bs, as := sessions(t, srv)
	p, err := faultproxy.New(srv.PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a := faultApp(t, p.URL(), func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Minute} })
	if r := a.Get(t.Context(), rig.PathRequired, cookie(bs), false); r.Status != 200 {
		t.Fatalf("warm-up: %s", r.Describe())
	}
	check(t, p.Set(faultproxy.TooManyRequests("60")))
	calls := p.Requests()
	start := time.Now()
	if r := a.Get(t.Context(), rig.PathRequired, rig.Cred{Token: "junk-token-0"}, true); r.Status != 429 || r.RetryAfter != "60" {
		t.Fatalf("first 429: %s", r.Describe())
	}
	for i := range 50 { // a burst of junk credentials
		cred := rig.Cred{Token: "junk-token-" + strings.Repeat("x", i+1)}
		if r := a.Get(t.Context(), rig.PathRequired, cred, true); r.Status != 429 || r.RetryAfter == "" || r.Location != "" {
			t.Fatalf("request %d during the backoff: %s", i, r.Describe())
		}
		// A cached session is served from the cache during the backoff.
		if r := a.Get(t.Context(), rig.PathRequired, cookie(bs), false); r.Status != 200 {
			t.Fatalf("cached session during the backoff: %s", r.Describe())
		}
	}
	probes := int(p.Requests() - calls - 1)
	if most := int(time.Since(start).Seconds()*core.BackoffProbesPerSecond) + 1; probes > most {
		t.Fatalf("%d probe lookups reached Ory during the backoff, want at most %d", probes, most)
	}
	if n := a.Logs.Count("rate-limited"); n != 1+probes {
		t.Fatalf("%d rate-limit log lines, want one per 429 (%d):\n%s", n, 1+probes, a.Logs.String())
	}

	// Ory answers again: the user gets through within a few seconds.
	check(t, p.Set(faultproxy.Pass()))
	recovered := time.Now()
	if !waitFor(5*time.Second, func() bool { return a.Get(t.Context(), rig.PathRequired, token(as), true).Status == 200 }) {
		t.Fatalf("a user whose session Kratos answers was still refused 5 s after Kratos answered again (Retry-After was 60)")
	}
	t.Logf("%d probes in %s of backoff; the user got through %s after Kratos answered again",
		probes, recovered.Sub(start).Round(time.Millisecond), time.Since(recovered).Round(time.Millisecond))
	calls = p.Requests()
	if r := a.Get(t.Context(), rig.PathRequired, rig.Cred{Token: "junk-token-after"}, true); r.Status != 401 || p.Requests() != calls+1 {
		t.Fatalf("after the backoff ended: %s, %d calls; want Kratos' 401", r.Describe(), p.Requests()-calls)
	}
}

// TestStaleIfError: with CacheConfig.StaleIfError a cached session is served
// while Ory fails, for at most the grace after its entry went stale, and
// with a log line saying so; without it (the default) the guard fails
// closed. Against a real Kratos behind the fault proxy.
func TestStaleIfError(t *testing.T) {
	srv := sharedKratos(t)
	bs, _ := sessions(t, srv)
	p, err := faultproxy.New(srv.PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const ttl, grace = 300 * time.Millisecond, time.Second
	stale := faultApp(t, p.URL(), func(c *core.Config) { c.Cache = core.CacheConfig{TTL: ttl, StaleIfError: grace} })
	strict := faultApp(t, p.URL(), func(c *core.Config) { c.Cache = core.CacheConfig{TTL: ttl} })
	var cachedAt time.Time
	// 429 last: its backoff would keep the next warm-up from reaching Ory.
	for _, m := range []faultproxy.Mode{faultproxy.Status(503, nil), faultproxy.Refuse(), faultproxy.Hang(), faultproxy.TooManyRequests("1")} {
		// (Re)fill both caches with a fresh entry, then let it go stale.
		check(t, p.Set(faultproxy.Pass()))
		for _, a := range []*rig.App{stale, strict} {
			if r := a.Get(t.Context(), rig.PathRequired, cookie(bs), false); r.Status != 200 {
				t.Fatalf("warm-up: %s", r.Describe())
			}
		}
		cachedAt = time.Now()
		time.Sleep(ttl + 50*time.Millisecond)

		check(t, p.Set(m))
		stale.Logs.Reset()
		if r := stale.Get(t.Context(), rig.PathRequired, cookie(bs), false); r.Status != 200 || r.SessionID != bs.SessionID {
			t.Errorf("%s: stale-if-error did not serve the cached session: %s", m, r.Describe())
		}
		if stale.Logs.Count("stale") != 1 {
			t.Errorf("%s: stale serve not logged once:\n%s", m, stale.Logs.String())
		}
		if r := strict.Get(t.Context(), rig.PathRequired, cookie(bs), false); r.Status < 500 && r.Status != 429 || r.Location != "" {
			t.Errorf("%s: without StaleIfError got %s, want a 5xx", m, r.Describe())
		}
		t.Logf("%s: stale session served; without StaleIfError: fail closed", m)
	}
	// Past the grace the entry is gone: fail closed again (the fault is
	// still 429; wait for its backoff to end and use a 503).
	time.Sleep(time.Until(cachedAt.Add(ttl + grace + 100*time.Millisecond)))
	time.Sleep(time.Second)
	check(t, p.Set(faultproxy.Status(503, nil)))
	if r := stale.Get(t.Context(), rig.PathRequired, cookie(bs), false); r.Status != 502 || r.Location != "" {
		t.Errorf("after the grace: %s, want 502", r.Describe())
	}
	check(t, p.Set(faultproxy.Pass()))
}

// TestStaleNeverBeyondExpiresAt: a stale entry is never served past the
// session's own expires_at, however long the grace (fake Ory: a real
// session's lifespan is too long to wait for).
func TestStaleNeverBeyondExpiresAt(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	s := orytest.ActiveSession("short", "short@example.com")
	exp := time.Now().Add(900 * time.Millisecond)
	s.ExpiresAt = &exp
	ory.Session("short-cookie", s)
	a := faultApp(t, ory.URL, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: 200 * time.Millisecond, StaleIfError: time.Hour}
	})
	cred := rig.Cred{Cookie: &http.Cookie{Name: "ory_kratos_session", Value: "short-cookie"}}
	if r := a.Get(t.Context(), rig.PathRequired, cred, false); r.Status != 200 {
		t.Fatalf("warm-up: %s", r.Describe())
	}
	time.Sleep(300 * time.Millisecond)
	ory.ReplyAll(&orytest.Reply{Status: 503})
	if r := a.Get(t.Context(), rig.PathRequired, cred, false); r.Status != 200 {
		t.Fatalf("before expires_at: %s, want the stale session", r.Describe())
	}
	time.Sleep(time.Until(exp) + 50*time.Millisecond)
	r := a.Get(t.Context(), rig.PathRequired, cred, false)
	if r.Status != 502 || r.Location != "" {
		t.Fatalf("after expires_at: %s, want 502 (Ory failing, stale entry unusable)", r.Describe())
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
