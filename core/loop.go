package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// The login-loop check. When Ory's session cookie cannot reach the app
// (Ory Network's project domain, a Kratos cookie domain that leaves the
// app out), a browser signs in at Ory, comes back without a cookie the
// guard can see, is sent to Ory again, which has a session and sends it
// straight back, and so on forever. The guard notices the second return
// within LoginLoopWindow and answers with a page that says why, instead of
// another redirect.
//
// Round trips are counted with a marker cookie:
//
//   - set only on a browser's page load (GET, Sec-Fetch-Mode navigate,
//     Sec-Fetch-Dest document) that arrived from another origin's page
//     (Sec-Fetch-Site cross-site or same-site, as a return from Ory's login
//     is) with no session credential at all, and was about to be sent to
//     log in: never on an API answer, a fetch, a first visit typed or
//     linked from the app itself, or a request without fetch metadata
//     (there is no telling a return from Ory there);
//   - signed with HMAC-SHA-256 under LoginLoopConfig.Key (a random key per
//     Guard by default), so a sibling subdomain cannot forge one;
//   - host-only (no Domain attribute), HttpOnly, SameSite=Lax, Path=/, and
//     with AppURL on https named with the __Host- prefix and Secure, so no
//     other host can set it;
//   - cleared by the guard on a page load that has a session, and by the
//     explanatory page itself, whose link continues to login: a planted or
//     stale marker costs one click, never a lock-out.

// LoginLoopWindow is how soon after a first return from Ory's login without
// a session cookie a second one counts as a login loop. A loop returns at
// once (Ory already has a session and sends the browser straight back);
// a user who abandons the login page twice within it sees the explanatory
// page once, and its link continues to login.
const LoginLoopWindow = time.Minute

// LoginLoopConfig configures the login-loop check (Config.LoginLoop).
type LoginLoopConfig struct {
	// Disabled turns the check off: the guard sets no marker cookie and
	// always redirects to login.
	Disabled bool

	// Key signs the marker cookie: at least 32 random bytes. Empty means a
	// random key per Guard; give every instance of a fleet behind one load
	// balancer the same key, so that a marker set by one is read by the
	// others (with different keys a loop is noticed only when both returns
	// reach the same instance).
	Key []byte
}

// loopGuard is the guard's login-loop check.
type loopGuard struct {
	name   string // the marker cookie's name; "" when the check is off
	secure bool   // the app is on https: __Host- prefix and Secure
	key    []byte
	ory    string // Ory's host, for the page
}

// loopCookieName is the marker's name, without the __Host- prefix.
const loopCookieName = "oryguard_login_loop"

// initLoop configures the login-loop check and warns, once, when Ory and
// the app are on different sites, where Ory's session cookie cannot reach
// the app.
func (g *Guard) initLoop(cfg *Config, ory *url.URL) error {
	g.warnCrossSite(ory, cfg.BrowserURL)
	if cfg.LoginLoop.Disabled {
		return nil
	}
	key := cfg.LoginLoop.Key
	switch {
	case len(key) == 0:
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("oryguard: generate login-loop key: %w", err)
		}
	case len(key) < 32:
		return fmt.Errorf("%w: Config.LoginLoop.Key must be at least 32 bytes", ErrInvalidConfig)
	default:
		key = append([]byte(nil), key...)
	}
	l := &g.loop
	l.key, l.ory = key, ory.Host
	l.secure = g.appURL != nil && g.appURL.Scheme == "https"
	l.name = loopCookieName
	if l.secure {
		l.name = "__Host-" + loopCookieName
	}
	g.cookies.loop = l.name
	return nil
}

// warnCrossSite logs one warning when OryURL and AppURL are on different
// sites (registrable domains) and neither BrowserURL (the in-app proxy) nor
// an AllowedRedirectOrigins entry (an Ory Network custom domain) is on the
// app's site: Ory's session cookie then
// never reaches the app, and every login loops. An Ory on a loopback IP
// address is a test double (core/orytest) far more often than a browser's
// login server, and is not warned about; the loop check still notices a
// loop there.
func (g *Guard) warnCrossSite(ory *url.URL, browser string) {
	if g.appURL == nil {
		return
	}
	if ip := net.ParseIP(ory.Hostname()); ip != nil && ip.IsLoopback() {
		return
	}
	app := site(g.appURL.Hostname())
	if site(ory.Hostname()) == app {
		return
	}
	for _, o := range append([]string{browser}, g.redirectOrigins...) {
		if u, err := url.Parse(o); err == nil && o != "" && site(u.Hostname()) == app {
			return
		}
	}
	g.log.LogAttrs(context.Background(), slog.LevelWarn,
		"oryguard: OryURL and AppURL are on different sites, so Ory's session cookie cannot reach the app and logins will loop; serve Ory on the app's site (the in-app proxy oryproxy, `ory tunnel` in development, or a custom domain on the app's site)",
		slog.String("ory_host", ory.Host), slog.String("app_host", g.appURL.Host))
}

// site is host's registrable domain (example.co.uk for a.b.example.co.uk),
// or the host itself when it has none (localhost, an IP address).
func site(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return host
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// navigation is a browser loading a page: Sec-Fetch-Mode navigate (and
// Sec-Fetch-Dest document when sent), or, without fetch metadata, an
// Accept that names text/html.
func navigation(r *Request) bool {
	if m := strings.TrimSpace(r.secFetchMode()); m != "" {
		return strings.EqualFold(m, "navigate") && pageLoad(r)
	}
	return pageLoad(r) && containsFold(r.accept(), "text/html")
}

// cameBack reports whether a page load arrived from another origin's page
// (Sec-Fetch-Site cross-site or same-site), as a return from Ory's login
// does.
func cameBack(r *Request) bool {
	s := strings.TrimSpace(r.secFetchSite())
	return strings.EqualFold(s, "cross-site") || strings.EqualFold(s, "same-site")
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// loopCheck turns the login redirect d for a request with no credential
// at all into the explanatory page when the browser has come back from
// Ory without a session twice within LoginLoopWindow, and otherwise marks
// a return (see the top of this file).
func (rt *Route) loopCheck(r *Request, d Decision) Decision {
	l := &rt.g.loop
	if l.name == "" || d.Status != http.StatusSeeOther || d.Denial == nil || r.Method != http.MethodGet ||
		!navigation(r) || !cameBack(r) {
		return d
	}
	now := rt.g.now()
	if l.marked(r, now) {
		return rt.g.loopPage(r, d.Denial.Location)
	}
	d.Header.Add("Set-Cookie", l.cookie(l.sign(now.Unix()), int(LoginLoopWindow/time.Second)))
	return d
}

// clearLoop adds the Set-Cookie that clears the marker to d, an allowed
// page load that carried one: a session is seen, so there is no loop.
func (g *Guard) clearLoop(r *Request, d Decision) Decision {
	if g.loop.name == "" || !navigation(r) {
		return d
	}
	h := make(http.Header, len(d.Header)+1)
	for k, v := range d.Header {
		h[k] = v // shared with other requests' decisions: copied, not changed
	}
	h["Set-Cookie"] = append(append([]string(nil), h["Set-Cookie"]...), g.loop.cookie("", -1))
	d.Header = h
	return d
}

// cookie is the marker's Set-Cookie: value for maxAge seconds, or cleared
// when maxAge is negative.
func (l *loopGuard) cookie(value string, maxAge int) string {
	var b strings.Builder
	b.WriteString(l.name + "=" + value + "; Path=/; HttpOnly; SameSite=Lax")
	if maxAge < 0 {
		b.WriteString("; Max-Age=0")
	} else {
		b.WriteString("; Max-Age=" + strconv.Itoa(maxAge))
	}
	if l.secure {
		b.WriteString("; Secure")
	}
	return b.String()
}

// sign is the marker's value for a return at unix time t: "t.mac".
func (l *loopGuard) sign(t int64) string {
	ts := strconv.FormatInt(t, 10)
	return ts + "." + l.mac(ts)
}

func (l *loopGuard) mac(ts string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("oryguard login loop v1\x00" + l.name + "\x00" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// marked reports whether the request carries a marker this guard signed
// within LoginLoopWindow of now. Any other cookie of the marker's name
// (planted, stale, from another key) is ignored.
func (l *loopGuard) marked(r *Request, now time.Time) bool {
	found := false
	eachCookie(r, func(name, value string) bool {
		if name != l.name {
			return true
		}
		ts, mac, ok := strings.Cut(value, ".")
		t, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || !hmac.Equal([]byte(mac), []byte(l.mac(ts))) {
			return true
		}
		age := now.Sub(time.Unix(t, 0))
		found = age >= -time.Second && age <= LoginLoopWindow
		return !found
	})
	return found
}

// eachCookie calls fn with every cookie of the request until it returns
// false.
func eachCookie(r *Request, fn func(name, value string) bool) {
	each := func(h string) bool {
		for h != "" {
			var part string
			part, h, _ = strings.Cut(h, ";")
			name, value, ok := strings.Cut(part, "=")
			if ok && !fn(trimOWS(name), trimOWS(value)) {
				return false
			}
		}
		return true
	}
	if r.raw != nil && r.Cookies == nil {
		for _, h := range r.raw.PeekAll("Cookie") {
			if !each(unsafeString(h)) {
				return
			}
		}
		return
	}
	for _, h := range r.Cookies {
		if !each(h) {
			return
		}
	}
}

// loopPage is the answer to a login loop: a page that says why the
// session cookie does not reach the app and how to fix it, with a link
// that continues to login (the page clears the marker, so following it
// starts counting afresh). It is a denial for ErrNoSession whose Location
// is the login URL; LoginLoop marks it.
func (g *Guard) loopPage(r *Request, login string) Decision {
	appHost := r.Host
	if g.appURL != nil {
		appHost = g.appURL.Host
	}
	g.log.LogAttrs(context.Background(), slog.LevelWarn,
		"oryguard: login loop: the browser came back from Ory's login twice without a session cookie the app can see; answering with an explanatory page",
		slog.String("ory_host", g.loop.ory), slog.String("app_host", appHost))
	e := html.EscapeString
	body := `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Signing in does not reach this app</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.5">
<h1>Signing in does not reach this app</h1>
<p>You came back from signing in at <b>` + e(g.loop.ory) + `</b> twice, but without a session cookie that
<b>` + e(appHost) + `</b> can see, so sending you to sign in again would only loop.</p>
<h2>Why</h2>
<p>Ory sets its session cookie for its own domain. A browser sends a cookie only to the domain it was set for,
so an app on another site never receives it.</p>
<h2>How to fix it (for the app's developers)</h2>
<ul>
<li>Serve Ory on the app's own domain with the in-app proxy (oryproxy), so that the cookie is set for the app.</li>
<li>In development, run <code>ory tunnel</code> for the project next to the app and set OryURL to the tunnel's URL.</li>
<li>On Ory Network, give the project a custom domain on the app's site (auth.example.com for app.example.com).</li>
<li>With a self-hosted Kratos, set <code>session.cookie.domain</code> to a domain that Kratos and the app share.</li>
</ul>
<p><a href="` + e(login) + `">Continue to sign in</a></p>
</body></html>
`
	d := Decision{
		Status: http.StatusUnauthorized,
		Header: http.Header{
			"Content-Type":            {"text/html; charset=utf-8"},
			"Cache-Control":           {"no-store"},
			"X-Content-Type-Options":  {"nosniff"},
			"Content-Security-Policy": {"default-src 'none'; style-src 'unsafe-inline'"},
			"Set-Cookie":              {g.loop.cookie("", -1)},
		},
		Body: []byte(body),
	}
	d = deniedBy(d, ErrNoSession, false, login, 0, nil)
	d.Denial.LoginLoop = true
	return d
}
