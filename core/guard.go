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
	sem         chan struct{} // bounds concurrent lookups; nil means unlimited
	backoff     backoff       // after a 429 from Ory (backoff.go)
	busyRefused atomic.Int64  // lookups refused by sem since the last log line
	busyLogged  atomic.Int64  // unix nanoseconds of the last such log line

	cache *otter.Cache[sessionKey, *entry] // nil when the cache is off
	ttl   time.Duration
	stale time.Duration

	keyers sync.Pool // *keyer

	obs    hook        // Config.Observer; zero when none
	shared *sharedTier // nil without Cache.Shared
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
		now:     newClock().now, // one clock read per request (clock.go)
		flights: map[sessionKey]*flight{},
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

	oc := client.NewConfiguration()
	oc.Servers = client.ServerConfigurations{{URL: g.ory}}
	oc.OperationServers = nil
	oc.HTTPClient = limitBodies(safeClient(cfg.HTTPClient))
	oc.UserAgent = userAgent
	g.api = client.NewAPIClient(oc)
	g.observe(cfg.Observer, oc.HTTPClient)
	g.subscribeShared()
	return g, nil
}

// OryURL is Ory's base URL as the guard uses it.
func (g *Guard) OryURL() string { return g.ory }

// Option sets a route policy. The same options work in every adapter.
type Option func(*policy)

type apiMode uint8

const (
	modeAuto apiMode = iota
	modeAPI
	modeBrowser
)

type policy struct {
	optional bool
	aal2     bool
	maxAge   time.Duration
	mode     apiMode
	checks   []func(context.Context, *client.Session) error
}

// Optional lets the handler run with or without a session. A valid session
// is attached; everything that would deny, and every Ory failure (logged),
// runs the handler without one, so an Ory outage cannot take down a page
// that must work for anonymous users anyway.
func Optional() Option { return func(p *policy) { p.optional = true } }

// RequireAAL2 sends a session that has only one factor (aal1) to step up
// with aal=aal2 (API clients get 403 session_aal2_required).
//
// Ory can only step up an identity that has a second factor: for one
// without, Kratos opens an aal2 login flow that offers nothing to
// complete. Put such routes behind a page that links to the settings flow
// (where users enrol TOTP or WebAuthn), or use RequireAAL2 only where every
// identity has a second factor.
func RequireAAL2() Option { return func(p *policy) { p.aal2 = true } }

// MaxAuthAge sends a session authenticated longer than d ago to
// re-authenticate with refresh=true (API clients get 403
// session_refresh_required), like Kratos' privileged sessions. Zero or
// negative d turns the check off.
func MaxAuthAge(d time.Duration) Option { return func(p *policy) { p.maxAge = d } }

// Check adds an app-defined rule that a verified session must pass, such
// as a verified email address or a role in metadata_public. fn runs after
// the guard's own checks, with the request's context; a non-nil error denies
// the request with a *Denial that unwraps to ErrForbidden and to fn's error
// (standard answer: 403, JSON for API clients, plain text for browsers). On
// an optional route the handler runs without a session instead. Several
// Check options run in order. fn must not modify the session.
func Check(fn func(ctx context.Context, s *client.Session) error) Option {
	return func(p *policy) {
		if fn != nil {
			p.checks = append(p.checks, fn)
		}
	}
}

// ForceAPI answers every denial as to an API client (JSON, no redirects),
// whatever the request's headers say.
func ForceAPI() Option { return func(p *policy) { p.mode = modeAPI } }

// ForceBrowser answers every denial as to a browser (redirects), whatever
// the request's headers say.
func ForceBrowser() Option { return func(p *policy) { p.mode = modeBrowser } }

// Route is a Guard with one route policy. Adapters build one per
// middleware and call Authenticate for each request.
type Route struct {
	g *Guard
	p policy
}

// Route returns the guard with the given policy; with no options the
// policy is "required".
func (g *Guard) Route(opts ...Option) *Route {
	r := &Route{g: g}
	for _, o := range opts {
		if o != nil {
			o(&r.p)
		}
	}
	return r
}

// Guard returns the Guard the route belongs to.
func (rt *Route) Guard() *Guard { return rt.g }

func (rt *Route) isAPI(r *Request) bool {
	switch rt.p.mode {
	case modeAPI:
		return true
	case modeBrowser:
		return false
	}
	return isAPI(r)
}

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
	if c.kind == credNone || c.kind == credInvalid {
		return rt.deny(r, denyLogin, "", false)
	}
	now := g.now()
	res := g.session(ctx, &c, now)
	if res.cached && rt.failsPolicy(res.session, now) {
		res = g.recheck(ctx, &c, res, now) // once, before denying (recheck.go)
	}
	switch res.kind {
	case resultSession:
		return rt.check(ctx, r, res, now)
	case resultNoSession:
		return rt.deny(r, denyLogin, "", false)
	case resultAAL2:
		return rt.deny(r, denyAAL2, res.redirect, false)
	case resultForbidden:
		return rt.deny(r, denyForbidden, res.redirect, false)
	}
	return rt.fail(r, res)
}

// fail answers a request whose session could not be verified because Ory
// failed, rate-limited or the guard is saturated: never a login redirect
// (that would loop users into a broken login page). An optional route runs
// its handler without a session.
func (rt *Route) fail(r *Request, res result) Decision {
	api := rt.isAPI(r)
	var reason error
	switch res.kind {
	case resultLimited:
		reason = ErrRateLimited
	case resultBusy:
		reason = ErrBusy
	case resultTimeout:
		reason = ErrOryTimeout
	default: // resultFailed, resultCanceled
		reason = ErrOryUnavailable
	}
	if rt.p.optional {
		return anonymous(reason, api)
	}
	switch res.kind {
	case resultLimited:
		return refuse(api, reason, 429, "", reasonRateLimited, "", res.retryAfter, nil)
	case resultBusy:
		return refuse(api, reason, 503, "", reasonBusy, "", 1, nil)
	case resultTimeout:
		return refuse(api, reason, 504, "", reasonTimeout, "", 0, nil)
	default:
		return refuse(api, reason, res.status, "", reasonUnavailable, "", 0, nil)
	}
}

// check applies the route policy to a verified session.
func (rt *Route) check(ctx context.Context, r *Request, res result, now time.Time) Decision {
	s := res.session
	if !usable(s, now) {
		return rt.deny(r, denyLogin, "", false)
	}
	needAAL2, needRefresh := rt.needAAL2(s), rt.needRefresh(s, now)
	switch {
	case needAAL2:
		return rt.deny(r, denyAAL2, "", needRefresh)
	case needRefresh:
		return rt.deny(r, denyRefresh, "", false)
	}
	for _, fn := range rt.p.checks {
		if err := fn(ctx, s); err != nil {
			api := rt.isAPI(r)
			if rt.p.optional {
				d := anonymous(ErrForbidden, api)
				d.Denial.Cause = err
				return d
			}
			return refuse(api, ErrForbidden, 403, "", reasonCheck, "", 0, err)
		}
	}
	return allow(s, res.header)
}

type denial uint8

const (
	denyLogin denial = iota
	denyAAL2
	denyRefresh
	denyForbidden
)

// deny answers a request that may not pass: the handler runs without a
// session on an optional route; otherwise browsers are redirected and API
// clients get JSON.
func (rt *Route) deny(r *Request, why denial, oryRedirect string, refresh bool) Decision {
	api := rt.isAPI(r)
	if rt.p.optional {
		return anonymous(why.reason(), api)
	}
	g := rt.g
	returnTo := g.ReturnTo(r)
	switch why {
	case denyAAL2:
		loc := g.flowURL(returnTo, refresh, true)
		if u, ok := g.oryRedirect(oryRedirect, returnTo); ok && !refresh {
			loc = u
		}
		if api {
			return refuse(true, ErrAAL2Required, 403, "session_aal2_required", reasonAAL2, loc, 0, nil)
		}
		return sendTo(ErrAAL2Required, loc)
	case denyRefresh:
		loc := g.flowURL(returnTo, true, false)
		if api {
			return refuse(true, ErrRefreshRequired, 403, "session_refresh_required", reasonRefresh, loc, 0, nil)
		}
		return sendTo(ErrRefreshRequired, loc)
	case denyForbidden:
		loc, ok := g.oryRedirect(oryRedirect, returnTo)
		if ok && !api {
			return sendTo(ErrForbidden, loc)
		}
		return refuse(api, ErrForbidden, 403, "", reasonForbidden, loc, 0, nil)
	}
	if api {
		return refuse(true, ErrNoSession, 401, "", reasonNoSession, "", 0, nil)
	}
	return sendTo(ErrNoSession, g.flowURL(returnTo, false, false))
}

// reason is the sentinel error of a denial kind.
func (why denial) reason() error {
	switch why {
	case denyAAL2:
		return ErrAAL2Required
	case denyRefresh:
		return ErrRefreshRequired
	case denyForbidden:
		return ErrForbidden
	}
	return ErrNoSession
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

// key hashes the credential under the per-process secret (key.go).
func (g *Guard) key(c *credential) sessionKey { return keyIn(&g.keyers, c) }
