// Package soak puts sustained concurrent load on an app protected by
// oryguard, with the session cache on, in front of a real Kratos, while
// sessions are created, used, revoked and expire throughout. It checks
// every answer against what Kratos knows about the session at that moment
// and reports the figures: requests served, errors, whoami calls, heap and
// goroutines at the start and end.
package soak

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/faultproxy"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/oryguard/oryguard/internal/e2e/reliability/rig"
)

// Config sets the soak's size. Zero fields take the defaults in brackets.
type Config struct {
	Duration        time.Duration // load phase [60s]
	Workers         int           // concurrent clients [8]
	CacheTTL        time.Duration // the guard's cache TTL [1s]
	SessionLifespan time.Duration // Kratos' session.lifespan [Duration/3, at least 4s]
	Sessions        int           // sessions created before the load starts [24]
	CreateEvery     time.Duration // a new session during the load [200ms]
	RevokeEvery     time.Duration // a revocation during the load [400ms]
	KratosBinary    string        // [$ORYGUARD_KRATOS_BIN or <repo>/.cache/bin/kratos]
	KratosLog       io.Writer     // Kratos' log at level warning and above [discarded]
	HeapProfile     io.Writer     // a heap profile taken with the end figures [none]
	Progress        io.Writer     // a line every few seconds [none]
}

func (c Config) withDefaults() Config {
	if c.Duration <= 0 {
		c.Duration = time.Minute
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = time.Second
	}
	if c.SessionLifespan <= 0 {
		c.SessionLifespan = max(c.Duration/3, 4*time.Second)
	}
	// Kratos accepts only durations such as "6s", not "6.5s" (the harness
	// writes Duration.String()).
	c.SessionLifespan = max(c.SessionLifespan.Round(time.Second), time.Second)
	if c.Sessions <= 0 {
		c.Sessions = 24
	}
	if c.CreateEvery <= 0 {
		c.CreateEvery = 200 * time.Millisecond
	}
	if c.RevokeEvery <= 0 {
		c.RevokeEvery = 400 * time.Millisecond
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// Report holds the soak's figures.
type Report struct {
	Config Config

	Elapsed  time.Duration
	Requests int64 // answered by the app
	Allowed  int64 // 200 with the right session
	Denied   int64 // expected denials: revoked, expired, or a random credential
	// KratosDeniedLive counts denials of sessions that Kratos still held but
	// answered 401 for itself (seen at the proxy); the guard followed Kratos.
	// Kratos' in-memory SQLite does this under concurrent writes, hence the
	// soak runs Kratos on a SQLite file.
	KratosDeniedLive int64
	Errors           int64 // anything else
	// ErrorSamples are the first few errors, described.
	ErrorSamples []string
	// By kind of unexpected answer.
	LiveDenied      int64 // a session Kratos still knows was denied
	RevokedAllowed  int64 // let in more than CacheTTL after its revocation returned
	ExpiredAllowed  int64 // let in after its expires_at
	WrongSession    int64 // 200 with another session
	ServerErrors    int64 // 5xx, 429 or a transport error
	WhoamiCalls     int64 // requests that reached Kratos' whoami (through a counting proxy)
	SessionsCreated int
	Revocations     map[string]int // by method
	Expired         int            // sessions whose expires_at passed during the load
	// MaxServedAfterRevoke is the longest a session was let in after its
	// revocation returned; it must stay within CacheTTL.
	MaxServedAfterRevoke time.Duration
	// Latency percentiles of the app's answers.
	P50, P99, Max time.Duration

	HeapStart, HeapEnd             uint64 // live heap bytes after a GC (HeapAlloc)
	HeapInuseStart, HeapInuseEnd   uint64 // bytes in in-use spans after a GC (HeapInuse)
	GoroutinesStart, GoroutinesEnd int
	LiveStart, LiveEnd             int // sessions live in Kratos (the working set the cache holds)
	GuardLogLines                  int
	// KratosFlowErrors counts registrations, logins and revocations that
	// Kratos itself failed (not through the guard); the session involved is
	// left out of the load.
	KratosFlowErrors  int
	KratosFlowSamples []string
}

// OK reports whether the soak found no errors and no growth in goroutines
// or heap beyond noise.
func (r *Report) OK() bool { return len(r.Problems()) == 0 }

// Problems lists what went wrong, if anything.
func (r *Report) Problems() []string {
	var out []string
	if r.Errors > 0 {
		out = append(out, fmt.Sprintf("%d unexpected answers", r.Errors))
	}
	if r.GoroutinesEnd > r.GoroutinesStart+GoroutineNoise {
		out = append(out, fmt.Sprintf("goroutines grew from %d to %d", r.GoroutinesStart, r.GoroutinesEnd))
	}
	if r.HeapEnd > r.HeapStart+HeapNoise {
		out = append(out, fmt.Sprintf("live heap grew from %.1f MiB to %.1f MiB", mib(r.HeapStart), mib(r.HeapEnd)))
	}
	if r.Requests == 0 || r.Allowed == 0 || r.Denied == 0 {
		out = append(out, "the load did not run (no requests, no allowed or no denied answers)")
	}
	return out
}

// Noise: how much more at the end still counts as no growth. Runtime and
// net/http background goroutines come and go; the live heap holds the
// guard's cache (bounded) and the load generator's session pool (pruned).
const (
	GoroutineNoise = 5
	HeapNoise      = 8 << 20
)

// Print writes the figures as a table.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { _, _ = fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	rps := float64(r.Requests) / r.Elapsed.Seconds()
	row("duration", r.Elapsed.Round(time.Millisecond))
	row("workers", r.Config.Workers)
	row("cache TTL / session lifespan", fmt.Sprintf("%s / %s", r.Config.CacheTTL, r.Config.SessionLifespan))
	row("requests served", fmt.Sprintf("%d (%.0f/s)", r.Requests, rps))
	row("  allowed (right session)", r.Allowed)
	row("  expected denials", r.Denied)
	if r.KratosDeniedLive > 0 {
		row("    of which Kratos itself denied a live session", r.KratosDeniedLive)
	}
	row("  errors", r.Errors)
	row("    live session denied", r.LiveDenied)
	row("    revoked session let in after TTL", r.RevokedAllowed)
	row("    expired session let in", r.ExpiredAllowed)
	row("    wrong session", r.WrongSession)
	row("    5xx / 429 / transport", r.ServerErrors)
	row("whoami calls", fmt.Sprintf("%d (%.1f%% of requests)", r.WhoamiCalls, 100*float64(r.WhoamiCalls)/float64(max(r.Requests, 1))))
	row("sessions created", r.SessionsCreated)
	keys := make([]string, 0, len(r.Revocations))
	total := 0
	for k, n := range r.Revocations {
		keys = append(keys, k)
		total += n
	}
	slices.Sort(keys)
	byKind := ""
	for _, k := range keys {
		byKind += fmt.Sprintf(" %s=%d", k, r.Revocations[k])
	}
	row("sessions revoked", fmt.Sprintf("%d (%s )", total, byKind))
	row("sessions expired during the load", r.Expired)
	row("longest served after revocation", fmt.Sprintf("%s (limit: TTL %s)", r.MaxServedAfterRevoke.Round(time.Microsecond), r.Config.CacheTTL))
	row("app latency p50 / p99 / max", fmt.Sprintf("≤%s / ≤%s / %s", r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond)))
	row("live sessions start → end", fmt.Sprintf("%d → %d", r.LiveStart, r.LiveEnd))
	row("live heap after GC start → end", fmt.Sprintf("%.2f MiB → %.2f MiB", mib(r.HeapStart), mib(r.HeapEnd)))
	row("heap in use (spans) start → end", fmt.Sprintf("%.1f MiB → %.1f MiB", mib(r.HeapInuseStart), mib(r.HeapInuseEnd)))
	row("goroutines start → end", fmt.Sprintf("%d → %d", r.GoroutinesStart, r.GoroutinesEnd))
	row("guard log lines", r.GuardLogLines)
	row("Kratos flow errors (not the guard)", r.KratosFlowErrors)
	_ = tw.Flush()
	for _, s := range r.KratosFlowSamples {
		_, _ = fmt.Fprintln(w, "Kratos flow error:", s)
	}
	for _, s := range r.ErrorSamples {
		_, _ = fmt.Fprintln(w, "error:", s)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// session is one session in the pool and what Kratos knows about it.
type session struct {
	id       string
	identity string
	email    string
	cred     rig.Cred
	api      bool
	expires  time.Time
	browser  *harness.BrowserSession
	token    string

	mu        sync.Mutex
	revoking  time.Time   // zero until a revocation begins
	revoked   time.Time   // when it returned
	kratos401 []time.Time // when Kratos answered the guard's whoami with 401 (the last few)
}

// key identifies the session's credential as the guard forwards it.
func (s *session) key() string {
	if s.token != "" {
		return "t:" + s.token
	}
	return "c:" + s.cred.Cookie.Value
}

// keyOf is key for a whoami request that reached Kratos.
func keyOf(r *http.Request) string {
	if t := r.Header.Get("X-Session-Token"); t != "" {
		return "t:" + t
	}
	if c, err := r.Cookie(harness.SessionCookieName); err == nil {
		return "c:" + c.Value
	}
	return ""
}

// kratosDenied reports whether Kratos itself answered 401 to a whoami for
// this session between from and to.
func (s *session) kratosDenied(from, to time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.kratos401 {
		if !t.Before(from) && !t.After(to) {
			return true
		}
	}
	return false
}

func (s *session) state() (revoking, revoked time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoking, s.revoked
}

type pool struct {
	mu       sync.RWMutex
	sessions []*session
	byKey    map[string]*session
	expiries []time.Time // of every session ever added
}

func (p *pool) add(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byKey == nil {
		p.byKey = map[string]*session{}
	}
	p.sessions = append(p.sessions, s)
	p.byKey[s.key()] = s
	p.expiries = append(p.expiries, s.expires)
}

// live counts the sessions neither revoked nor expired at now.
func (p *pool) live(now time.Time) int {
	n := 0
	for _, s := range p.all() {
		if rev, _ := s.state(); rev.IsZero() && s.expires.After(now) {
			n++
		}
	}
	return n
}

func (p *pool) find(key string) *session {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.byKey[key]
}

// prune drops sessions that have been dead (revoked or expired) for longer
// than grace, keeping the keep most recent ones so that dead credentials
// stay in the load, and the load generator's own memory stays flat.
func (p *pool) prune(now time.Time, grace time.Duration, keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var live, dead []*session
	for _, s := range p.sessions {
		s.mu.Lock()
		diedAt := s.expires
		if !s.revoked.IsZero() && s.revoked.Before(diedAt) {
			diedAt = s.revoked
		}
		s.mu.Unlock()
		if now.Sub(diedAt) > grace {
			dead = append(dead, s)
		} else {
			live = append(live, s)
		}
	}
	if len(dead) > keep {
		for _, s := range dead[:len(dead)-keep] {
			delete(p.byKey, s.key())
		}
		dead = dead[len(dead)-keep:]
	}
	live = append(live, dead...)
	p.sessions = live
}

func (p *pool) pick(rng *mrand.Rand) *session {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.sessions[rng.IntN(len(p.sessions))]
}

func (p *pool) all() []*session {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.sessions)
}

// Run starts Kratos, an app and the load, and returns the figures. It
// returns an error only when the soak could not run; what it found is in
// the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := harness.StartKratos(ctx, harness.KratosOptions{Binary: cfg.KratosBinary, SessionLifespan: cfg.SessionLifespan,
		LogLevel: "warning", LogWriter: cfg.KratosLog, Logger: quiet, Persistent: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Stop() }()
	proxy, err := faultproxy.New(srv.PublicURL()) // Pass: only to count whoami calls
	if err != nil {
		return nil, err
	}
	defer func() { _ = proxy.Close() }()
	var p pool
	// Kratos is the oracle: when it answers the guard's whoami for a live
	// session with 401, a denial is its verdict, not the guard's mistake.
	proxy.Observe(func(req *http.Request, resp *http.Response, _ []byte) {
		if resp.StatusCode != http.StatusUnauthorized {
			return
		}
		if s := p.find(keyOf(req)); s != nil {
			s.mu.Lock()
			if len(s.kratos401) == 8 {
				s.kratos401 = s.kratos401[1:]
			}
			s.kratos401 = append(s.kratos401, time.Now())
			s.mu.Unlock()
		}
	})
	app, err := rig.NewApp(core.Config{OryURL: proxy.URL(), Cache: core.CacheConfig{TTL: cfg.CacheTTL}})
	if err != nil {
		return nil, err
	}
	defer app.Close()

	r := &Report{Config: cfg, Revocations: map[string]int{}}
	for i := range cfg.Sessions {
		s, err := create(ctx, srv, i, nil)
		if err != nil {
			return nil, err
		}
		p.add(s)
	}
	r.SessionsCreated = cfg.Sessions

	// Warm up with the load's own shape, then take the starting figures with
	// every idle connection closed, so that start and end compare alike.
	l := &load{cfg: cfg, app: app, pool: &p, report: r}
	l.run(ctx, time.Second, nil)
	*r = Report{Config: cfg, Revocations: map[string]int{}, SessionsCreated: r.SessionsCreated}
	l.lat = histogram{}
	settle(app, proxy)
	r.HeapStart, r.HeapInuseStart, r.GoroutinesStart = memFigures()
	r.LiveStart = p.live(time.Now())
	whoamiStart := proxy.RequestsTo("/sessions/whoami")
	logStart := app.Logs.Lines()

	_, _ = fmt.Fprintf(cfg.Progress, "soak: %s of load, %d workers, %d sessions to start with\n", cfg.Duration, cfg.Workers, cfg.Sessions)
	start := time.Now()
	l.run(ctx, cfg.Duration, func(ctx context.Context) { churn(ctx, cfg, srv, &p, r) })
	r.Elapsed = time.Since(start)
	r.WhoamiCalls = proxy.RequestsTo("/sessions/whoami") - whoamiStart
	r.GuardLogLines = app.Logs.Lines() - logStart
	p.mu.RLock()
	for _, e := range p.expiries {
		if e.After(start) && e.Before(start.Add(r.Elapsed)) {
			r.Expired++
		}
	}
	p.mu.RUnlock()
	r.P50, r.P99, r.Max = l.lat.quantile(0.5), l.lat.quantile(0.99), l.lat.max

	r.LiveEnd = p.live(time.Now())
	settle(app, proxy)
	r.GoroutinesEnd = rig.WaitGoroutines(runtime.NumGoroutine, r.GoroutinesStart, 3*time.Second)
	r.HeapEnd, r.HeapInuseEnd, _ = memFigures()
	if cfg.HeapProfile != nil {
		if err := pprof.Lookup("heap").WriteTo(cfg.HeapProfile, 0); err != nil {
			return nil, err
		}
	}
	runtime.KeepAlive(app)
	runtime.KeepAlive(&p)
	return r, nil
}

// settle closes idle connections and lets their goroutines end.
func settle(app *rig.App, proxy *faultproxy.Proxy) {
	app.CloseIdleConnections()
	proxy.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
}

func memFigures() (live, inUse uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.HeapInuse, runtime.NumGoroutine()
}

var seq atomic.Int64

const password = "correct-horse-battery-staple-42"

// create makes a session: it signs up a new identity, alternately in a
// browser (cookie) and a native app (token), or, when also is given, signs
// in again as also's identity through the native flow, so that identities
// hold several sessions. It reads the session's expires_at from whoami.
func create(ctx context.Context, srv *harness.Kratos, i int, also *session) (*session, error) {
	s := &session{email: fmt.Sprintf("soak-%d-%s@example.com", seq.Add(1), rand.Text()[:8])}
	var (
		who *harness.WhoamiResponse
		err error
	)
	switch {
	case also != nil:
		var as *harness.APISession
		if as, err = srv.LoginAPI(ctx, also.email, password); err != nil {
			return nil, err
		}
		s.email, s.identity = also.email, also.identity
		s.id, s.cred, s.api, s.token = as.SessionID, rig.Cred{Token: as.Token}, true, as.Token
		who, err = srv.WhoamiToken(ctx, as.Token)
	case i%2 == 0:
		var bs *harness.BrowserSession
		if bs, err = srv.RegisterBrowser(ctx, s.email, password); err != nil {
			return nil, err
		}
		s.id, s.identity, s.cred, s.browser = bs.SessionID, bs.IdentityID, rig.Cred{Cookie: bs.Cookie}, bs
		who, err = srv.WhoamiCookie(ctx, bs.Cookie)
	default:
		var as *harness.APISession
		if as, err = srv.RegisterAPI(ctx, s.email, password); err != nil {
			return nil, err
		}
		s.id, s.identity, s.cred, s.api, s.token = as.SessionID, as.IdentityID, rig.Cred{Token: as.Token}, true, as.Token
		who, err = srv.WhoamiToken(ctx, as.Token)
	}
	if err != nil {
		return nil, err
	}
	if s.expires, err = expiresAt(who); err != nil {
		return nil, err
	}
	return s, nil
}

// churn creates and revokes sessions until ctx ends. A Kratos flow that
// fails (these calls go to Kratos directly, not through the guard) is
// counted and skipped.
func churn(ctx context.Context, cfg Config, srv *harness.Kratos, p *pool, r *Report) {
	createTick := time.NewTicker(cfg.CreateEvery)
	defer createTick.Stop()
	revoke := time.NewTicker(cfg.RevokeEvery)
	defer revoke.Stop()
	rng := mrand.New(mrand.NewPCG(7, 7))
	failed := func(err error) {
		if ctx.Err() != nil {
			return // the load ended during the call
		}
		r.KratosFlowErrors++
		if len(r.KratosFlowSamples) < 3 {
			msg := err.Error()
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			r.KratosFlowSamples = append(r.KratosFlowSamples, time.Now().Format("15:04:05.000")+" "+msg)
		}
	}
	created, revoked := 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-createTick.C:
			var also *session
			if created%3 == 2 {
				also = pickLive(p, rng) // another session for an existing identity
			}
			s, err := create(ctx, srv, created, also)
			created++
			if err != nil {
				failed(err)
				continue
			}
			p.add(s)
			r.SessionsCreated++
			p.prune(time.Now(), 2*cfg.CacheTTL, 16)
		case <-revoke.C:
			s := pickLive(p, rng)
			if s == nil {
				continue
			}
			kind, err := revokeOne(ctx, srv, p, s, revoked)
			revoked++
			if err != nil {
				failed(err)
				continue
			}
			r.Revocations[kind]++
		}
	}
}

func pickLive(p *pool, rng *mrand.Rand) *session {
	all := p.all()
	now := time.Now()
	for range 20 {
		s := all[rng.IntN(len(all))]
		if rev, _ := s.state(); rev.IsZero() && s.expires.After(now.Add(time.Second)) {
			return s
		}
	}
	return nil
}

// revokeOne ends s in one of Kratos' four ways and marks every session it
// ended.
func revokeOne(ctx context.Context, srv *harness.Kratos, p *pool, s *session, n int) (string, error) {
	var ended []*session
	var kind string
	var call func() error
	switch {
	case n%3 == 0:
		kind, ended, call = "admin", []*session{s}, func() error { return srv.RevokeSession(ctx, s.id) }
	case n%3 == 1 && s.browser != nil:
		kind, ended, call = "browser-logout", []*session{s}, func() error { return srv.LogoutBrowser(ctx, s.browser) }
	case n%3 == 1 && s.token != "":
		kind, ended, call = "native-logout", []*session{s}, func() error { return srv.LogoutAPI(ctx, s.token) }
	default:
		kind, call = "identity", func() error { return srv.DeleteIdentitySessions(ctx, s.identity) }
		for _, o := range p.all() {
			if o.identity == s.identity {
				ended = append(ended, o)
			}
		}
	}
	now := time.Now()
	for _, e := range ended {
		e.mu.Lock()
		if e.revoking.IsZero() {
			e.revoking = now
		}
		e.mu.Unlock()
	}
	if err := call(); err != nil {
		return kind, err
	}
	now = time.Now()
	for _, e := range ended {
		e.mu.Lock()
		if e.revoked.IsZero() {
			e.revoked = now
		}
		e.mu.Unlock()
	}
	return kind, nil
}

// load runs the workers and checks every answer.
type load struct {
	cfg    Config
	app    *rig.App
	pool   *pool
	report *Report

	mu  sync.Mutex
	lat histogram
}

// histogram counts latencies in buckets 5% apart, from 1µs up, in fixed
// memory however long the soak runs.
type histogram struct {
	counts [400]int64
	n      int64
	max    time.Duration
}

func bucketOf(d time.Duration) int {
	if d < time.Microsecond {
		return 0
	}
	b := int(math.Log(float64(d)/float64(time.Microsecond))/math.Log(1.05)) + 1
	return min(b, len(histogram{}.counts)-1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the upper bound of the bucket that holds quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	want := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= want && c > 0 {
			return min(time.Duration(float64(time.Microsecond)*math.Pow(1.05, float64(i))), h.max)
		}
	}
	return h.max
}

func (l *load) run(ctx context.Context, d time.Duration, alongside func(context.Context)) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	if alongside != nil {
		wg.Go(func() { alongside(ctx) })
	}
	for w := range l.cfg.Workers {
		wg.Go(func() { l.worker(ctx, w) })
	}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				_, _ = fmt.Fprintf(l.cfg.Progress, "soak: %d requests, %d errors, heap %.1f MiB (before GC), %d goroutines\n",
					atomic.LoadInt64(&l.report.Requests), atomic.LoadInt64(&l.report.Errors), mib(ms.HeapAlloc), runtime.NumGoroutine())
			}
		}
	})
	wg.Wait()
}

func (l *load) worker(ctx context.Context, w int) {
	rng := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	var lat histogram
	defer func() {
		l.mu.Lock()
		l.lat.merge(&lat)
		l.mu.Unlock()
	}()
	for ctx.Err() == nil {
		var s *session
		if rng.IntN(10) == 0 {
			// A credential no one was ever given.
			s = &session{cred: rig.Cred{Token: rand.Text()}, api: true}
			if rng.IntN(2) == 0 {
				s = &session{cred: rig.Cred{Cookie: cookieOf(rand.Text())}}
			}
		} else {
			s = l.pool.pick(rng)
		}
		res := l.app.Get(context.WithoutCancel(ctx), rig.PathRequired, s.cred, s.api)
		lat.add(res.Took())
		l.check(s, res)
	}
}

// check classifies one answer against what Kratos knows.
func (l *load) check(s *session, res rig.Result) {
	r := l.report
	atomic.AddInt64(&r.Requests, 1)
	revoking, revoked := s.state()
	deadNow := s.id == "" || // never a session
		(!revoking.IsZero() && res.Done.After(revoking)) || // revocation under way
		(!s.expires.IsZero() && !res.Done.Before(s.expires)) // expired meanwhile
	fail := func(counter *int64, why string) {
		atomic.AddInt64(counter, 1)
		if atomic.AddInt64(&r.Errors, 1) <= 10 {
			l.mu.Lock()
			state := "never revoked"
			if !revoking.IsZero() {
				state = fmt.Sprintf("revocation began %s after the request was sent", revoking.Sub(res.Sent).Round(time.Millisecond))
			}
			if !s.expires.IsZero() {
				state += fmt.Sprintf(", expires_at %s after it was sent", s.expires.Sub(res.Sent).Round(time.Millisecond))
			}
			r.ErrorSamples = append(r.ErrorSamples, fmt.Sprintf("session %q (%s): %s: %s", s.id, state, why, res.Describe()))
			l.mu.Unlock()
		}
	}
	switch {
	case res.Err != nil || res.Status >= 500 || res.Status == 429:
		fail(&r.ServerErrors, "server error")
	case res.Status == 200:
		switch {
		case res.SessionID != s.id:
			fail(&r.WrongSession, "wrong session")
		case !s.expires.IsZero() && res.Sent.After(s.expires):
			fail(&r.ExpiredAllowed, "let in after expires_at")
		case !revoked.IsZero() && res.Sent.After(revoked):
			l.mu.Lock()
			r.MaxServedAfterRevoke = max(r.MaxServedAfterRevoke, res.Sent.Sub(revoked))
			l.mu.Unlock()
			if res.Sent.Sub(revoked) > l.cfg.CacheTTL {
				fail(&r.RevokedAllowed, fmt.Sprintf("let in %s after the revocation returned", res.Sent.Sub(revoked).Round(time.Microsecond)))
				return
			}
			atomic.AddInt64(&r.Allowed, 1)
		default:
			atomic.AddInt64(&r.Allowed, 1)
		}
	case res.Status == 303 && !s.api && res.Location != "", res.Status == 401 && s.api:
		if !deadNow {
			if s.kratosDenied(res.Sent, res.Done) {
				atomic.AddInt64(&r.KratosDeniedLive, 1)
				atomic.AddInt64(&r.Denied, 1)
				return
			}
			fail(&r.LiveDenied, "live session denied")
			return
		}
		atomic.AddInt64(&r.Denied, 1)
	default:
		fail(&r.ServerErrors, "unexpected answer")
	}
}

func cookieOf(value string) *http.Cookie {
	return &http.Cookie{Name: harness.SessionCookieName, Value: value}
}

// expiresAt reads expires_at from a whoami answer.
func expiresAt(w *harness.WhoamiResponse) (time.Time, error) {
	var v struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	if w.Status != http.StatusOK {
		return time.Time{}, fmt.Errorf("whoami of a new session: %d %s", w.Status, w.Body)
	}
	if err := json.Unmarshal(w.Body, &v); err != nil || v.ExpiresAt.IsZero() {
		return time.Time{}, fmt.Errorf("whoami of a new session has no expires_at: %w %s", err, w.Body)
	}
	return v.ExpiresAt, nil
}
