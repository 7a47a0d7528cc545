package core

import (
	"context"
	"time"

	client "github.com/ory/client-go"
)

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

// recheck asks Ory once more, bypassing the cache, about a cached session
// that fails the route's policy. The user may have just stepped up (aal2)
// or re-authenticated in Ory, which the cached copy cannot know: without
// asking, a token client would be refused until the entry expires. Ory's
// answer replaces the cached one (and is cached in turn); when Ory cannot
// answer (failing, rate-limited, the guard saturated), the cached session
// decides, and so the policy denies it.
func (g *Guard) recheck(ctx context.Context, c *credential, cached result, at time.Time) result {
	fwd, ok := c.forward()
	if !ok || g.backoff.wait(at.UnixNano()) > 0 {
		return cached
	}
	res := g.collapse(g.skipShared(ctx), g.key(c), &fwd)
	switch res.kind {
	case resultSession, resultNoSession, resultAAL2, resultForbidden:
		return res
	}
	return cached
}
