package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
)

// queryParam returns one query parameter of the request target.
func queryParam(target, name string) string {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return ""
	}
	return u.Query().Get(name)
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
func (g *Guard) LogoutRedirect(ctx context.Context, r *Request) Decision {
	returnTo := queryParam(r.URI, "return_to")
	loc, err := g.LogoutURL(ctx, r, returnTo)
	switch {
	case err == nil:
		return redirect(loc)
	case errors.Is(err, ErrNoSession):
		return redirect(g.SafeReturnTo(returnTo))
	}
	g.log.LogAttrs(ctx, slog.LevelError, "oryguard: logout failed", slog.String("error", err.Error()))
	return respond(isAPI(r), http.StatusBadGateway, "", reasonUnavailable, "")
}
