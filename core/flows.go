package core

import (
	"fmt"
	"net/url"
	"strings"
)

// flowURL builds {OryURL}/self-service/login/browser with the given flags
// and return_to.
func (g *Guard) flowURL(returnTo string, refresh, aal2 bool) string {
	q := url.Values{}
	if aal2 {
		q.Set("aal", "aal2")
	}
	if refresh {
		q.Set("refresh", "true")
	}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	return g.browserURL("/self-service/login/browser?" + q.Encode())
}

// LoginURL is Ory's browser login flow URL, returning to returnTo (checked
// with SafeReturnTo) afterwards.
func (g *Guard) LoginURL(returnTo string) string {
	return g.flowURL(g.SafeReturnTo(returnTo), false, false)
}

// RefreshURL is the login flow URL with refresh=true: the user proves their
// identity again (Ory's privileged-session re-authentication) and returns to
// returnTo.
func (g *Guard) RefreshURL(returnTo string) string {
	return g.flowURL(g.SafeReturnTo(returnTo), true, false)
}

// StepUpURL is the login flow URL with aal=aal2: the user adds a second
// factor to the session and returns to returnTo.
func (g *Guard) StepUpURL(returnTo string) string {
	return g.flowURL(g.SafeReturnTo(returnTo), false, true)
}

// withReturnTo sets return_to on an absolute http(s) URL chosen by Ory (a
// redirect_browser_to); it reports false when the URL is unusable.
func withReturnTo(raw, returnTo string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	q := u.Query()
	q.Set("return_to", returnTo)
	u.RawQuery = q.Encode()
	return u.String(), true
}

// origin returns u's origin as "scheme://host:port", lower case, with the
// scheme's default port made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + strings.ToLower(hostPort(scheme, u.Host))
}

// redirectOrigins checks Config.AllowedRedirectOrigins and returns them,
// with OryURL's own origin first, in origin form.
func redirectOrigins(ory *url.URL, allowed []string) ([]string, error) {
	out := []string{origin(ory)}
	for _, raw := range allowed {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: Config.AllowedRedirectOrigins entry %q must be an origin such as https://auth.example.com (scheme and host, no path)", ErrInvalidConfig, raw)
		}
		out = append(out, origin(u))
	}
	return out, nil
}

// oryRedirect returns Ory's redirect_browser_to with return_to set, when it
// points at OryURL's origin or one of Config.AllowedRedirectOrigins (an Ory
// Network custom domain, say). Anything else reports false, and the guard
// builds the flow URL on OryURL itself: an Ory answer, or whatever sits
// between the guard and Ory, must not be able to send users elsewhere.
func (g *Guard) oryRedirect(raw, returnTo string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	o := origin(u)
	for _, allowed := range g.redirectOrigins {
		if o == allowed {
			return withReturnTo(g.toBrowser(raw), returnTo)
		}
	}
	return "", false
}

// RefreshRedirect is the decision for a "/refresh-session" route: a 303 to
// Ory's login flow with refresh=true, returning to the request's return_to
// query parameter (checked with SafeReturnTo) or the app's root.
func (g *Guard) RefreshRedirect(r *Request) Decision {
	return redirect(g.RefreshURL(queryParam(r.URI, "return_to")))
}

// flowFor is where a denial whose reason has flow f sends the request:
// browserLoc is a browser's 303 Location ("" when a browser gets a status
// instead), apiLoc the flow an API client's JSON names as
// redirect_browser_to, the same URL with the same return_to, so that a
// single-page app can send the browser where a page load would have gone.
// oryRedirect is Ory's redirect_browser_to, followed only to known
// origins; refresh makes a step-up re-authenticate too (and then Ory's
// redirect, which would not, is not followed).
//
// A native client (a session token in X-Session-Token or Authorization:
// Bearer) gets no login URL in its 401: the browser login flow ends with a
// session cookie in a browser, never with a token for the app that asked,
// so the URL would send it down a path it cannot finish; it logs in
// through Ory's API flow (/self-service/login/api), and Ory's own 401 names
// no URL either. Its step-up and refresh answers keep the URL, as Ory's own
// 403 session_aal2_required does.
func (g *Guard) flowFor(r *Request, f flow, oryRedirect string, refresh bool) (browserLoc, apiLoc string) {
	if f == flowNone {
		return "", ""
	}
	returnTo := g.ReturnTo(r)
	switch f {
	case flowLogin:
		loc := g.flowURL(returnTo, false, false)
		if nativeClient(r) {
			return loc, ""
		}
		return loc, loc
	case flowStepUp:
		loc := g.flowURL(returnTo, refresh, true)
		if u, ok := g.oryRedirect(oryRedirect, returnTo); ok && !refresh {
			loc = u
		}
		return loc, loc
	case flowRefresh:
		loc := g.flowURL(returnTo, true, false)
		return loc, loc
	}
	loc, _ := g.oryRedirect(oryRedirect, returnTo) // flowOry: "" when not followed
	return loc, loc
}
