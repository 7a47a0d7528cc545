package core

import (
	"fmt"
	"net/url"
	"strings"
)

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
			return withReturnTo(raw, returnTo)
		}
	}
	return "", false
}
