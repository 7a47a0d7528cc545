package core

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core/internal/backoff"
	"github.com/oryguard/oryguard/core/internal/clock"
)

// Guard checks Ory sessions. Build it with New; it is safe for concurrent
// use and meant to be shared by every route of an app.
type Guard struct {
	ory    string   // Ory's base URL, no trailing slash
	app    string   // the app's base URL, or "" for relative return_to
	appURL *url.URL // parsed AppURL, or nil
	// redirectOrigins are the origins of Ory's redirect_browser_to that are
	// followed: OryURL's and Config.AllowedRedirectOrigins (redirects.go).
	redirectOrigins []string
	api             *client.APIClient
	timeout         time.Duration
	cookies         cookieMatcher
	log             *slog.Logger
	now             func() time.Time

	flightsMu   sync.Mutex
	flights     map[sessionKey]*flight
	sem         chan struct{}   // bounds concurrent lookups; nil means unlimited
	backoff     backoff.Backoff // after a 429 from Ory
	busyRefused atomic.Int64    // lookups refused by sem since the last log line
	busyLogged  atomic.Int64    // unix nanoseconds of the last such log line

	cache     *otter.Cache[sessionKey, *entry] // nil when the cache is off
	ttl       time.Duration                    // upper bound of an entry's life
	stale     time.Duration
	followOry bool // Cache.TTL zero: cache only what Ory-Session-Cache-For allows

	keyers    sync.Pool  // *keyer
	sidSecret []byte     // keys session IDs (sidHash); the key secret keyers use
	forgot    *forgotten // session index and tombstones; nil when the cache is off

	obs    hook        // Config.Observer; zero when none
	shared *sharedTier // nil without Cache.Shared

	loop loopGuard // the login-loop check (loop.go)

	// browser is where browsers reach Ory: Config.BrowserURL, or ory
	// (browserurl.go).
	browser string

	perm *keto // permission checks (Permit, keto.go)
}

// New validates cfg and returns a Guard. It reports which setting to fix
// when the Ory URL or the app URL is missing or malformed.
func New(cfg Config) (*Guard, error) {
	ory, err := resolveOryURL(cfg.OryURL)
	if err != nil {
		return nil, err
	}
	g := &Guard{
		ory:     ory.String(),
		timeout: cfg.Timeout,
		cookies: newCookieMatcher(cfg.SessionCookies),
		log:     cfg.Logger,
		now:     clock.New().Now, // one clock read per request
		flights: map[sessionKey]*flight{},
	}
	g.backoff.Interval = time.Second / BackoffProbesPerSecond
	if g.browser, err = resolveBrowserURL(cfg.BrowserURL, ory); err != nil {
		return nil, err
	}
	if g.redirectOrigins, err = redirectOrigins(ory, cfg.AllowedRedirectOrigins); err != nil {
		return nil, err
	}
	if cfg.AppURL != "" {
		app, err := baseURL("Config.AppURL", cfg.AppURL, "set it to the app's public base URL, such as https://app.example.com, or leave it empty for relative return_to")
		if err != nil {
			return nil, err
		}
		g.appURL = app
		g.app = app.String()
	}
	if g.timeout <= 0 {
		g.timeout = DefaultTimeout
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if err := g.initLoop(&cfg, ory); err != nil {
		return nil, err
	}
	switch n := cfg.MaxConcurrentLookups; {
	case n == 0:
		g.sem = make(chan struct{}, DefaultMaxConcurrentLookups)
	case n > 0:
		g.sem = make(chan struct{}, n)
	}
	if err := g.initCache(cfg.Cache); err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("oryguard: generate cache key: %w", err)
	}
	if s, err := g.initShared(cfg.Cache); err != nil {
		return nil, err
	} else if s != nil {
		secret = s // the fleet's keys, so invalidations name entries here
	}
	g.keyers.New = newKeyer(secret)
	g.sidSecret = secret

	oc := client.NewConfiguration()
	oc.Servers = client.ServerConfigurations{{URL: g.ory}}
	oc.OperationServers = nil
	oc.HTTPClient = limitBodies(safeClient(cfg.HTTPClient))
	oc.UserAgent = userAgent
	if err := g.initPermissions(&cfg, oc.HTTPClient); err != nil {
		return nil, err
	}
	g.api = client.NewAPIClient(oc)
	g.observe(cfg.Observer, oc.HTTPClient)
	g.subscribeShared()
	return g, nil
}

// Close stops the guard listening to its shared tier (CacheConfig.Shared),
// so that a guard rebuilt on a config reload, or built per tenant, leaves
// nothing behind. It is safe to call more than once and from several
// goroutines, and returns nil. A closed guard no longer hears other
// instances' logouts: stop serving requests with it. Without a shared tier
// Close does nothing.
func (g *Guard) Close() error {
	if g.shared == nil || g.shared.sub == nil {
		return nil
	}
	sub := g.shared.sub
	sub.once.Do(func() {
		sub.g.Store(nil)
		if sub.unsubscribe != nil {
			sub.unsubscribe()
		}
	})
	return nil
}

// OryURL is Ory's base URL as the guard uses it.
func (g *Guard) OryURL() string { return g.ory }

// Authenticate decides what happens to one request. ctx is the request's
// context: if it ends while Ory is being asked, Authenticate returns at once
// (the shared lookup goes on under its own timeout for other callers).
func (rt *Route) Authenticate(ctx context.Context, r *Request) Decision {
	d := rt.authenticate(ctx, r)
	rt.g.observeDecision(ctx, &d)
	return d
}

func (rt *Route) authenticate(ctx context.Context, r *Request) Decision {
	g := rt.g
	var c credential
	g.cookies.extract(r, &c)
	if c.kind == credNone {
		return rt.loopCheck(r, rt.deny(r, result{kind: reasonNoSession}, false, nil))
	}
	if c.kind == credInvalid {
		return rt.deny(r, result{kind: reasonNoSession}, false, nil)
	}
	now := g.now()
	res := g.session(ctx, &c, now)
	if res.cached && rt.failsPolicy(res.session, now) {
		res = g.recheck(ctx, &c, res, now) // once, before denying (recheck.go)
	}
	if res.kind == reasonSession {
		d := rt.check(ctx, r, res, now)
		if c.loop && d.Session != nil {
			d = g.clearLoop(r, d) // a session: no login loop (loop.go)
		}
		return d
	}
	return rt.deny(r, res, false, nil)
}

// check applies the route policy to a verified session.
func (rt *Route) check(ctx context.Context, r *Request, res result, now time.Time) Decision {
	s := res.session
	if !usable(s, now) {
		return rt.deny(r, result{kind: reasonNoSession}, false, nil)
	}
	needAAL2, needRefresh := rt.needAAL2(s), rt.needRefresh(s, now)
	switch {
	case needAAL2:
		return rt.deny(r, result{kind: reasonAAL2}, needRefresh, nil)
	case needRefresh:
		return rt.deny(r, result{kind: reasonRefresh}, false, nil)
	}
	for _, fn := range rt.p.checks {
		if err := fn(ctx, s); err != nil {
			return rt.deny(r, result{kind: reasonCheck}, false, err)
		}
	}
	if len(rt.p.permits) > 0 {
		// After the app's checks, as the most expensive: a call to Keto.
		if v := rt.permitted(ctx, r, s); v.kind != reasonSession {
			return rt.refusePermit(r, v)
		}
	}
	return allow(s, res.header)
}

// usable reports whether Ory would count the session as active now.
func usable(s *client.Session, now time.Time) bool {
	if s == nil || s.Id == "" || s.Active == nil || !*s.Active || s.ExpiresAt == nil || !s.ExpiresAt.After(now) {
		return false
	}
	if id := s.Identity; id != nil && id.State != nil && *id.State != "active" {
		return false
	}
	return true
}
