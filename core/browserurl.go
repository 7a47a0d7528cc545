package core

import (
	"net/url"
	"strings"
)

// resolveBrowserURL checks Config.BrowserURL and returns the base URL
// browsers are sent to: BrowserURL without a trailing slash, or OryURL when
// it is empty.
func resolveBrowserURL(raw string, ory *url.URL) (string, error) {
	if raw == "" {
		return ory.String(), nil
	}
	u, err := baseURL("Config.BrowserURL", raw, "set it to the URL browsers use to reach Ory, such as oryproxy's URL() (https://app.example/.ory), or leave it empty to send browsers to OryURL")
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// browserURL is path (with its query) on the URL browsers use to reach
// Ory: Config.BrowserURL, or OryURL.
func (g *Guard) browserURL(path string) string {
	return g.browser + path
}

// toBrowser moves a URL Ory returned (redirect_browser_to, logout_url) from
// Ory's base URL onto Config.BrowserURL, keeping the path below the base,
// the query and the fragment. A URL on any other origin (compared after
// parsing, so "https://ory.example@evil.example" is not Ory's), or outside
// Ory's base path, is returned as it is.
func (g *Guard) toBrowser(raw string) string {
	if g.browser == g.ory {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return raw
	}
	ory, err := url.Parse(g.ory)
	if err != nil || origin(u) != origin(ory) {
		return raw
	}
	base, p := ory.EscapedPath(), u.EscapedPath()
	rest, ok := strings.CutPrefix(p, base)
	if !ok || (rest != "" && rest[0] != '/') {
		return raw
	}
	out := g.browser + rest
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return out
}
