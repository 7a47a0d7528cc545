package core

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
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
