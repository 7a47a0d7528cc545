package core

import (
	"context"
	"encoding/json"
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
// Origin on every POST, so log out with a POST form, or with fetch: a
// request that is not a page load (Sec-Fetch-Mode other than navigate) or
// that prefers JSON gets 200 with {"logout_url": "..."} instead of the
// redirect (the app's return_to when there is no session), for the page
// to navigate to.
//
// A native (API) client that sends its session token instead of a cookie
// is logged out through Ory's API (Ory's performNativeLogout) and gets 204
// No Content, also when the token was unknown or already ended.
//
// Either way the session leaves the guard's cache, whatever credential it
// was cached under (other extra cookies, older encodings of the session
// cookie), and, with CacheConfig.Shared, every instance's, as
// ForgetSession does; a lookup in flight for it is not cached. The guard
// forgets by the session's ID: when neither its cache nor the shared tier
// knows the credential, it asks Ory's whoami once to learn it. A credential
// that opens no session costs one request to Ory and nothing fleet-wide:
// nothing is forgotten, nothing is told to the fleet. For a browser that
// happens when the logout URL is handed out; Kratos ends the session when
// the browser follows it.
func (g *Guard) LogoutRedirect(ctx context.Context, r *Request) Decision {
	var c credential
	g.cookies.extract(r, &c)
	if c.kind == credToken || c.kind == credBearer {
		k := g.knownCredential(ctx, &c) // before Ory ends it
		if !g.identify(ctx, &c, &k) {
			// Ory says the token opens no session: there is nothing to
			// end, and Ory would answer the logout the same way.
			return Decision{Status: http.StatusNoContent, Header: http.Header{"Cache-Control": {"no-store"}}}
		}
		d, confirmed := g.nativeLogout(ctx, r, c.token)
		g.forgetCredential(ctx, &k, confirmed) // once Ory has answered: no lookup can re-cache it
		return d
	}
	if !g.fromApp(r) {
		return crossSiteLogout(r)
	}
	returnTo := queryParam(r.URI, "return_to")
	loc, err := g.browserLogout(ctx, &c, returnTo)
	if errors.Is(err, ErrNoSession) {
		loc, err = g.SafeReturnTo(returnTo), nil
	}
	if err == nil {
		if isAPI(r) {
			return logoutJSON(loc)
		}
		return redirect(loc)
	}
	g.log.LogAttrs(ctx, slog.LevelError, "oryguard: logout failed", slog.String("error", err.Error()))
	return respond(isAPI(r), http.StatusBadGateway, "", reasons[reasonOryFailed].text, "")
}

// logoutJSON answers a logout requested by fetch or XHR, which cannot
// follow a redirect to Ory's origin: 200 with {"logout_url": loc}, for the
// page to navigate to.
func logoutJSON(loc string) Decision {
	body, _ := json.Marshal(struct {
		LogoutURL string `json:"logout_url"`
	}{loc}) // cannot fail: a string
	return Decision{Status: http.StatusOK, Body: body, Header: http.Header{
		"Content-Type":  {"application/json; charset=utf-8"},
		"Cache-Control": {"no-store"},
	}}
}

// known is what the guard knew of a credential being logged out.
type known struct {
	keys  []sessionKey // its keys here: as read, then as sent to Ory when that differs
	fwd   credential   // as sent to Ory, when fwdOK
	fwdOK bool
	sid   string // the session's ID: from this cache or the shared tier
	seen  bool   // cached here, in flight here, or in the shared tier
}

// knownCredential finds what the guard knows of c before it logs out:
// this cache, the lookups in flight, then the shared tier. It asks Ory
// nothing.
func (g *Guard) knownCredential(ctx context.Context, c *credential) known {
	k := known{keys: []sessionKey{g.key(c)}}
	k.fwd, k.fwdOK = c.forward()
	if k.fwdOK && k.fwd.n != c.n {
		k.keys = append(k.keys, g.key(&k.fwd))
	}
	if g.cache != nil {
		for _, key := range k.keys {
			if e, ok := g.cache.GetIfPresent(key); ok && e.session != nil {
				k.sid, k.seen = e.session.Id, true
			}
		}
	}
	g.flightsMu.Lock()
	for _, key := range k.keys {
		if _, ok := g.flights[key]; ok {
			k.seen = true
		}
	}
	g.flightsMu.Unlock()
	if k.sid == "" && g.shared != nil && k.fwdOK {
		key := k.keys[len(k.keys)-1] // the fleet knows a credential by what Ory sees
		v, err := g.shared.c.Get(context.WithoutCancel(ctx), g.sharedKeys(key, &k.fwd))
		if _, s, ok := decodeShared(v); err == nil && ok {
			k.sid, k.seen = s.Id, true
		}
	}
	return k
}

// identify learns the session ID of a credential being logged out that
// neither this guard nor the shared tier had cached (knownCredential), by
// asking Ory's whoami once, as a protected request would (collapsed,
// limited, backing off after a 429). Without the ID, only the credential's
// own keys could be forgotten, and the same session cached elsewhere under
// another spelling (an extra junk cookie, an older encoding of the session
// cookie) would outlive the logout on every instance.
//
// It reports false only when Ory answered that the credential opens no
// session: then there is nothing to forget. When Ory fails, the logout goes
// on without the ID. With the cache off nothing is cached anywhere, and Ory
// is not asked.
func (g *Guard) identify(ctx context.Context, c *credential, k *known) bool {
	if k.sid != "" || k.seen || g.cache == nil { // k.seen alone: a lookup in flight, which forgets what it finds (store)
		return true
	}
	switch res := g.session(ctx, c, g.now()); res.kind {
	case reasonSession:
		k.sid, k.seen = res.session.Id, true
	case reasonNoSession:
		return false
	}
	return true
}

// browserLogout asks Ory for the logout URL of the session cookie in c and
// forgets the session (forgetCredential), by its ID: from this cache, the
// shared tier, or, for a cookie cached nowhere, Ory's whoami (identify),
// asked only once Ory has issued a logout URL, so a cookie that opens no
// session costs one request to Ory, as before.
func (g *Guard) browserLogout(ctx context.Context, c *credential, returnTo string) (string, error) {
	if c.kind != credCookie {
		return g.logoutURL(ctx, c, returnTo)
	}
	k := g.knownCredential(ctx, c)
	loc, err := g.logoutURL(ctx, c, returnTo)
	if err == nil {
		g.identify(ctx, c, &k)
	}
	g.forgetCredential(ctx, &k, err == nil)
	return loc, err
}

// nativeLogout ends a token session through Ory's API. confirmed is true
// when Ory says it ended a session (and not that there was none).
func (g *Guard) nativeLogout(ctx context.Context, r *Request, token string) (d Decision, confirmed bool) {
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
			ended := resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK
			return Decision{Status: http.StatusNoContent, Header: http.Header{"Cache-Control": {"no-store"}}}, ended
		}
	}
	if err == nil {
		err = errors.New("unexpected status " + resp.Status)
	}
	g.log.LogAttrs(ctx, slog.LevelError, "oryguard: native logout failed", slog.String("error", err.Error()))
	return respond(true, http.StatusBadGateway, "", reasons[reasonOryFailed].text, ""), false
}

// LogoutURL asks Ory for a browser logout URL for the session cookie in r
// (client-go's CreateBrowserLogoutFlow, sending the session cookies alone,
// read as the protected path reads them). After logout Ory sends the
// browser to returnTo (checked with SafeReturnTo); empty means Ory's
// configured default. It returns ErrNoSession when there is no session to
// end, and ErrCrossSiteLogout (asking Ory nothing) when r did not come from
// the app's own pages. The session leaves the guard's cache (and the
// fleet's) as with LogoutRedirect.
func (g *Guard) LogoutURL(ctx context.Context, r *Request, returnTo string) (string, error) {
	if !g.fromApp(r) {
		return "", ErrCrossSiteLogout
	}
	var c credential
	if g.cookies.cookies(r, &c) == credCookie {
		c.kind = credCookie
	}
	return g.browserLogout(ctx, &c, returnTo)
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
