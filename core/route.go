package core

import (
	"context"
	"time"

	client "github.com/ory/client-go"
)

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
	permits  []permit
}

// Optional lets the handler run with or without a session. A valid session
// is attached; everything that would deny, and every Ory failure (logged),
// runs the handler without one, so an Ory outage cannot take down a page
// that must work for anonymous users anyway. Permit is the exception: an
// anonymous request never asks Keto, but a session that lacks the
// permission, or Keto failing, is answered exactly as on a required route
// (never handed to the handler as anonymous).
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

// needAAL2 reports whether the route demands a second factor that s lacks.
func (rt *Route) needAAL2(s *client.Session) bool {
	return rt.p.aal2 && (s.AuthenticatorAssuranceLevel == nil || *s.AuthenticatorAssuranceLevel != client.AUTHENTICATORASSURANCELEVEL_AAL2)
}

// needRefresh reports whether s was authenticated longer ago than the
// route allows.
func (rt *Route) needRefresh(s *client.Session, now time.Time) bool {
	return rt.p.maxAge > 0 && (s.AuthenticatedAt == nil || now.Sub(*s.AuthenticatedAt) > rt.p.maxAge)
}

// failsPolicy reports whether a usable session would be denied by the
// route's policy (RequireAAL2, MaxAuthAge).
func (rt *Route) failsPolicy(s *client.Session, now time.Time) bool {
	return (rt.p.aal2 || rt.p.maxAge > 0) && (rt.needAAL2(s) || rt.needRefresh(s, now))
}
