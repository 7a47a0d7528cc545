package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// safePath turns a request target into a same-origin path and query. Any
// target whose path could be read as another host (//host, /\host, the same
// percent-encoded) or that does not parse becomes "/".
func safePath(target string) string {
	if target == "" {
		return "/"
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return "/"
	}
	p := u.EscapedPath()
	if p == "" || p[0] != '/' || len(u.Path) == 0 || u.Path[0] != '/' {
		return "/"
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') || len(u.Path) > 1 && (u.Path[1] == '/' || u.Path[1] == '\\') {
		return "/"
	}
	if strings.ContainsAny(p, "\\") {
		p = strings.ReplaceAll(p, "\\", "%5C")
	}
	if u.RawQuery == "" || u.ForceQuery && u.RawQuery == "" {
		return p
	}
	q := u.RawQuery
	if strings.ContainsAny(q, "\\#") {
		q = strings.NewReplacer("\\", "%5C", "#", "%23").Replace(q)
	}
	return p + "?" + q
}

// ReturnTo is the return_to value for the request: its path and query,
// prefixed with Config.AppURL when that is set. A path with a dot segment
// ("/../other", "/%2e%2e/other"), which could resolve outside AppURL's path
// prefix, becomes the app's root. It never uses the Host or
// X-Forwarded-Host headers.
func (g *Guard) ReturnTo(r *Request) string {
	return g.absolute(safePath(r.URI))
}

func (g *Guard) absolute(path string) string {
	if hasDotSegment(path) {
		path = "/" // resolved, it could leave the app's path prefix
	}
	if g.app == "" {
		return path
	}
	return g.app + path
}

// SafeReturnTo checks a return_to value that came from a client (for example
// the return_to query parameter of a refresh or logout route). A relative
// path is kept after sanitising; an absolute URL is kept only when it is on
// Config.AppURL's origin and within its path prefix. A path with a dot
// segment ("..", "%2e%2e") and anything else becomes the app's root.
func (g *Guard) SafeReturnTo(raw string) string {
	if raw == "" {
		return g.absolute("/")
	}
	if strings.ContainsAny(raw, "\\\r\n\t\x00") {
		return g.absolute("/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return g.absolute("/")
	}
	if u.Scheme == "" && u.Host == "" && u.Opaque == "" && u.User == nil {
		if !strings.HasPrefix(raw, "/") {
			return g.absolute("/")
		}
		return g.absolute(safePath(raw))
	}
	if g.appURL == nil || u.User != nil || !strings.EqualFold(u.Scheme, g.appURL.Scheme) ||
		!strings.EqualFold(u.Host, g.appURL.Host) {
		return g.absolute("/")
	}
	target := u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	// Keep the app's own absolute URL, re-rooted on the configured origin,
	// when it stays within AppURL's path prefix.
	target = safePath(target)
	if hasDotSegment(target) || !g.inApp(target) {
		return g.absolute("/")
	}
	return g.appURL.Scheme + "://" + g.appURL.Host + target
}

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
	return g.ory + "/self-service/login/browser?" + q.Encode()
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
	return flow.LogoutUrl, nil
}
