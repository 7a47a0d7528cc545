package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	client "github.com/ory/client-go"
)

// ErrCrossSiteLogout is returned by LogoutURL when the request did not come
// from the app's own pages (see LogoutRedirect): a cross-site link or form
// must not log the user out.
var ErrCrossSiteLogout = errors.New("oryguard: logout requested from another site")

// reasonCrossSite is the text of the answer to a cross-site logout.
const reasonCrossSite = "Logout must be requested from the app's own pages."

// fromApp reports whether a browser request for a logout URL came from the
// app's own origin. Ory's logout URL carries Ory's own CSRF token, so
// handing it to a request that another site made (a link, an image, a form)
// would let that site log the user out. The rule:
//
//   - Sec-Fetch-Site, when present, must be "same-origin" or "none" (the
//     user typed the URL or used a bookmark). "same-site" is refused too: a
//     sibling subdomain is another origin, and the very one that can plant
//     cookies.
//   - Origin, when present, must be the app's origin: Config.AppURL's
//     scheme and host, or, with AppURL empty, the request's own Host (the
//     scheme is not known then, so the host alone is compared).
//     "Origin: null" is refused.
//   - A request with neither header (a browser from before 2020, or not a
//     browser) is let through: there is nothing to tell it by. Browsers
//     send Origin on every POST, which is why the examples log out with a
//     POST form.
func (g *Guard) fromApp(r *Request) bool {
	switch site := strings.TrimSpace(r.secFetchSite()); {
	case site == "", strings.EqualFold(site, "same-origin"), strings.EqualFold(site, "none"):
	default:
		return false
	}
	origin := strings.TrimSpace(r.origin())
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" || o.User != nil || (o.Path != "" && o.Path != "/") || o.RawQuery != "" ||
		(o.Scheme != "http" && o.Scheme != "https") {
		return false
	}
	if g.appURL != nil {
		return strings.EqualFold(o.Scheme, g.appURL.Scheme) &&
			strings.EqualFold(hostPort(o.Scheme, o.Host), hostPort(g.appURL.Scheme, g.appURL.Host))
	}
	return r.Host != "" && strings.EqualFold(hostPort(o.Scheme, o.Host), hostPort(o.Scheme, r.Host))
}

// hostPort is host with the scheme's default port made explicit, so that
// https://a.example and https://a.example:443 compare equal.
func hostPort(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return host + ":443"
	}
	return host + ":80"
}

// crossSiteLogout is the answer to a logout request from another site:
// 403, and nothing is logged out.
func crossSiteLogout(r *Request) Decision {
	return respond(isAPI(r), http.StatusForbidden, "", reasonCrossSite, "")
}

// LogoutRedirect is the decision for a logout route: a 303 to the logout
// URL Ory issues for the request's session cookie. Without a session it
// redirects to the return_to query parameter (checked) or the app's root;
// when Ory fails it answers 502 and logs, never a login redirect.
//
// Only a request from the app's own pages gets the logout URL: when the
// request carries Sec-Fetch-Site, it must be same-origin or none, and when
// it carries Origin, that must be Config.AppURL's origin (or, without
// AppURL, the request's own host). A cross-site request gets 403 and
// nothing is logged out. GET and POST are treated alike; browsers send
// Origin on every POST, so log out with a POST form.
//
// A native (API) client that sends its session token instead of a cookie
// is logged out through Ory's API (Ory's performNativeLogout) and gets 204
// No Content, also when the token was unknown or already ended.
//
// Either way the credential leaves the guard's cache at once (and, with
// CacheConfig.Shared, every instance's), and a lookup in flight for it is
// not cached. For a browser that happens when
// the logout URL is handed out; Kratos ends the session when the browser
// follows it.
func (g *Guard) LogoutRedirect(ctx context.Context, r *Request) Decision {
	var c credential
	g.cookies.extract(r, &c)
	if c.kind == credToken || c.kind == credBearer {
		defer g.forget(&c) // once Ory has answered: no lookup can re-cache it
		return g.nativeLogout(ctx, r, c.token)
	}
	if !g.fromApp(r) {
		return crossSiteLogout(r)
	}
	returnTo := queryParam(r.URI, "return_to")
	if c.kind == credCookie {
		g.forget(&c)
	}
	loc, err := g.logoutURL(ctx, &c, returnTo)
	switch {
	case err == nil:
		return redirect(loc)
	case errors.Is(err, ErrNoSession):
		return redirect(g.SafeReturnTo(returnTo))
	}
	g.log.LogAttrs(ctx, slog.LevelError, "oryguard: logout failed", slog.String("error", err.Error()))
	return respond(isAPI(r), http.StatusBadGateway, "", reasons[reasonOryFailed].text, "")
}

// nativeLogout ends a token session through Ory's API.
func (g *Guard) nativeLogout(ctx context.Context, r *Request, token string) Decision {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	resp, err := g.api.FrontendAPI.PerformNativeLogout(ctx).
		PerformNativeLogoutBody(*client.NewPerformNativeLogoutBody(token)).Execute()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusNoContent, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			// Ended now, or there was nothing to end: either way the token
			// no longer opens a session.
			return Decision{Status: http.StatusNoContent, Header: http.Header{"Cache-Control": {"no-store"}}}
		}
	}
	if err == nil {
		err = errors.New("unexpected status " + resp.Status)
	}
	g.log.LogAttrs(ctx, slog.LevelError, "oryguard: native logout failed", slog.String("error", err.Error()))
	return respond(true, http.StatusBadGateway, "", reasons[reasonOryFailed].text, "")
}

// LogoutURL asks Ory for a browser logout URL for the session cookie in r
// (client-go's CreateBrowserLogoutFlow, sending the session cookies alone,
// read as the protected path reads them). After logout Ory sends the
// browser to returnTo (checked with SafeReturnTo); empty means Ory's
// configured default. It returns ErrNoSession when there is no session to
// end, and ErrCrossSiteLogout (asking Ory nothing) when r did not come from
// the app's own pages. The session leaves the guard's cache.
func (g *Guard) LogoutURL(ctx context.Context, r *Request, returnTo string) (string, error) {
	if !g.fromApp(r) {
		return "", ErrCrossSiteLogout
	}
	var c credential
	if g.cookies.cookies(r, &c) == credCookie {
		c.kind = credCookie
		g.forget(&c)
	}
	return g.logoutURL(ctx, &c, returnTo)
}

// logoutURL is LogoutURL for session cookies already read from the
// request. Cookies that cannot be sent to Ory (credential.forward) are no
// session: Ory is not asked.
func (g *Guard) logoutURL(ctx context.Context, c *credential, returnTo string) (string, error) {
	if c.kind != credCookie {
		return "", ErrNoSession
	}
	fwd, ok := c.forward()
	if !ok {
		return "", ErrNoSession
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req := g.api.FrontendAPI.CreateBrowserLogoutFlow(ctx).Cookie(fwd.cookieHeader())
	if returnTo != "" {
		req = req.ReturnTo(g.SafeReturnTo(returnTo))
	}
	flow, resp, err := req.Execute()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if resp != nil && resp.StatusCode == http.StatusUnauthorized {
		return "", ErrNoSession
	}
	if err != nil {
		return "", fmt.Errorf("oryguard: create logout flow: %w", err)
	}
	if flow == nil || flow.LogoutUrl == "" {
		return "", errors.New("oryguard: create logout flow: Ory returned no logout_url")
	}
	return g.toBrowser(flow.LogoutUrl), nil
}
