package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	client "github.com/ory/client-go"
)

// queryParam returns one query parameter of the request target.
func queryParam(target, name string) string {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return ""
	}
	return strings.Clone(u.Query().Get(name))
}

// RefreshRedirect is the decision for a "/refresh-session" route: a 303 to
// Ory's login flow with refresh=true, returning to the request's return_to
// query parameter (checked with SafeReturnTo) or the app's root.
func (g *Guard) RefreshRedirect(r *Request) Decision {
	return redirect(g.RefreshURL(queryParam(r.URI, "return_to")))
}

// LogoutRedirect is the decision for a logout route: a 303 to the logout
// URL Ory issues for the request's session cookie. Without a session it
// redirects to the return_to query parameter (checked) or the app's root;
// when Ory fails it answers 502 and logs, never a login redirect.
//
// Only a request from the app's own pages gets the logout URL (see
// fromApp: Sec-Fetch-Site and Origin are checked); a cross-site one gets
// 403 and nothing is logged out. GET and POST are treated alike.
//
// A native (API) client that sends its session token instead of a cookie
// is logged out through Ory's API (performNativeLogout) and gets 204 No
// Content, also when the token was unknown or already ended.
//
// Either way the credential leaves the guard's cache at once (forget), and
// a lookup in flight for it is not cached. For a browser that happens when
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
	return respond(isAPI(r), http.StatusBadGateway, "", reasonUnavailable, "")
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
	return respond(true, http.StatusBadGateway, "", reasonUnavailable, "")
}
