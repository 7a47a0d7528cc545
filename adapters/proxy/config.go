package oryproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/oryguard/oryguard/core"
)

// Defaults used when the matching Config field is left zero.
const (
	// DefaultPrefix is where the proxy serves Ory on the app's origin, as
	// `ory proxy` does.
	DefaultPrefix = "/.ory"

	// DefaultTimeout bounds one request to Ory, body included.
	DefaultTimeout = 10 * time.Second

	// DefaultMaxBodyBytes caps a request body sent to Ory (a login or
	// registration form is a few kilobytes).
	DefaultMaxBodyBytes = 1 << 20

	// DefaultMaxRewriteBytes caps a response body the proxy rewrites (HTML,
	// JSON and other text); a bigger one is answered 502, never passed on
	// half-rewritten. Other bodies are streamed and not capped.
	DefaultMaxRewriteBytes = 8 << 20
)

// DefaultCookies are the names of the cookies Ory sets on a browser: the
// session, CSRF and continuity cookies of self-hosted Kratos and of Ory
// Network. A name ending in "*" is a prefix. The __Host- and __Secure-
// prefixed forms of each are Ory's too. Only these (and Config.Cookies)
// travel between the browser and Ory through the proxy.
var DefaultCookies = []string{
	"ory_kratos_session",
	"ory_session_*",
	"csrf_token",
	"csrf_token_*",
	"ory_kratos_continuity",
	"ory_continuity*",
}

// sessionCookies are the cookies whose clearing ends a session.
var sessionCookies = []string{"ory_kratos_session", "ory_session_*"}

// Config configures a Proxy. OryURL and AppURL are required.
type Config struct {
	// OryURL is Ory's public base URL, where the proxy forwards requests:
	// an Ory Network project URL (https://<slug>.projects.oryapis.com) or
	// a self-hosted Kratos' public URL (serve.public.base_url). It may
	// carry a path; it must not carry credentials, a query or a fragment.
	OryURL string

	// AppURL is the app's public origin as browsers see it, for example
	// https://app.example or http://localhost:8080: rewritten URLs,
	// cookies' Secure flag and Ory-Base-URL-Rewrite are built from it. It
	// is required and is never taken from a request's Host or
	// X-Forwarded-* headers, which a client controls.
	AppURL string

	// Prefix is the path under which Ory is served on the app's origin.
	// Empty means DefaultPrefix ("/.ory"). Ignored when AtRoot is set.
	Prefix string

	// AtRoot serves Ory's paths at the root of the app's origin, as
	// `ory tunnel` does (/self-service/..., /sessions/whoami, /ui/...).
	// It must be asked for: the zero value serves under Prefix.
	AtRoot bool

	// CookieDomain is the Domain given to Ory's cookies on the app, for
	// example "app.example" to share them with sub-domains. Empty (the
	// default, and the safest) makes them host-only: sent back only to the
	// app's own host. It must contain the AppURL's host.
	CookieDomain string

	// APIKey is an Ory Network API key (ory_pat_...). With it the proxy
	// sends Ory-Base-URL-Rewrite-Token, so Ory Network builds the links in
	// recovery and verification emails on the app's URL. Leave it empty
	// for self-hosted Kratos. It is never logged.
	APIKey string

	// AllowHeaders are request headers forwarded to Ory besides the
	// built-in allow-list (Accept, Accept-Language, Content-Type,
	// User-Agent, Referer, Origin, X-Session-Token). Host, Cookie,
	// Authorization, Forwarded, X-Forwarded-*, hop-by-hop and Ory-*
	// headers cannot be added here.
	AllowHeaders []string

	// Cookies are cookie names forwarded to Ory and accepted from it
	// besides DefaultCookies; a name ending in "*" is a prefix. The app's
	// own cookies never reach Ory.
	Cookies []string

	// ForwardAuthorization forwards the Authorization header to Ory. Off
	// by default: the app's own bearer tokens and basic credentials are
	// not Ory's business.
	ForwardAuthorization bool

	// Timeout bounds one request to Ory, including reading its body.
	// Zero means DefaultTimeout. A request that runs out of time is
	// answered 504.
	Timeout time.Duration

	// MaxBodyBytes caps a request body; a bigger one is answered 413 and
	// not sent to Ory. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// MaxRewriteBytes caps a response body the proxy rewrites. Zero means
	// DefaultMaxRewriteBytes.
	MaxRewriteBytes int64

	// Logger receives one line per failed exchange with Ory. Nil means
	// slog.Default(). Cookies, tokens, query strings and the API key are
	// never logged.
	Logger *slog.Logger

	// Transport sends the requests to Ory. Nil means a transport with
	// bounded dial and TLS handshake times. The proxy never follows a
	// redirect, whatever the transport.
	Transport http.RoundTripper

	// Guard, when set, is told when a session ends through the proxy, so
	// it stops serving the session at once rather than when its cache entry
	// expires. For a logout, before forwarding /self-service/logout the
	// proxy asks the guard which session the request carries (from its
	// cache, or Ory), and when Ory answers by clearing the session cookie
	// it calls Guard.ForgetSession with that session's ID; for a session
	// revoked from the settings page (DELETE /sessions/{id}, answered 2xx)
	// it forgets that ID. DELETE /sessions (every other session) names no
	// IDs: those sessions end in the guard when their entries expire.
	Guard *core.Guard
}

// settings is a validated Config.
type settings struct {
	ory          *url.URL // Ory's base URL, path without a trailing slash
	oryBase      string   // ory as a string, without a trailing slash
	appOrigin    string   // scheme://host[:port]
	appHTTPS     bool
	prefix       string // "" at the root
	proxied      string // appOrigin + prefix: the app's URL for Ory
	cookieDomain string
	apiKey       string
	headers      map[string]bool // canonical names forwarded to Ory
	cookies      cookieMatcher
	session      cookieMatcher
	authz        bool
	timeout      time.Duration
	maxBody      int64
	maxRewrite   int64
	log          *slog.Logger
}

func (c *Config) settings() (*settings, error) {
	s := &settings{
		apiKey:     c.APIKey,
		authz:      c.ForwardAuthorization,
		timeout:    c.Timeout,
		maxBody:    c.MaxBodyBytes,
		maxRewrite: c.MaxRewriteBytes,
		log:        c.Logger,
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxRewrite == 0 {
		s.maxRewrite = DefaultMaxRewriteBytes
	}
	if s.timeout < 0 || s.maxBody < 0 || s.maxRewrite < 0 {
		return nil, errors.New("oryproxy: Timeout, MaxBodyBytes and MaxRewriteBytes must not be negative")
	}
	if s.log == nil {
		s.log = slog.Default()
	}

	ory, err := baseURL("OryURL", c.OryURL)
	if err != nil {
		return nil, err
	}
	ory.Path = strings.TrimSuffix(ory.Path, "/")
	ory.RawPath = ""
	s.ory = ory
	s.oryBase = ory.String()

	app, err := baseURL("AppURL", c.AppURL)
	if err != nil {
		return nil, err
	}
	if app.Path != "" && app.Path != "/" {
		return nil, fmt.Errorf("oryproxy: AppURL %q must be an origin without a path; use Prefix for the path", c.AppURL)
	}
	s.appHTTPS = app.Scheme == "https"
	s.appOrigin = app.Scheme + "://" + app.Host

	switch {
	case c.AtRoot && c.Prefix != "":
		return nil, errors.New("oryproxy: set either Prefix or AtRoot, not both")
	case c.AtRoot:
		s.prefix = ""
	case c.Prefix == "":
		s.prefix = DefaultPrefix
	default:
		p := c.Prefix
		if !strings.HasPrefix(p, "/") || p == "/" || path.Clean(p) != p || strings.ContainsAny(p, "%?#\\") {
			return nil, fmt.Errorf("oryproxy: Prefix %q must be a clean path such as /.ory (use AtRoot to serve at the root)", p)
		}
		s.prefix = p
	}
	s.proxied = s.appOrigin + s.prefix

	if d := strings.ToLower(strings.TrimPrefix(c.CookieDomain, ".")); d != "" {
		host := strings.ToLower(app.Hostname())
		if host != d && !strings.HasSuffix(host, "."+d) {
			return nil, fmt.Errorf("oryproxy: CookieDomain %q does not contain the AppURL's host %q; browsers would refuse the cookies", c.CookieDomain, host)
		}
		s.cookieDomain = d
	}

	s.headers = make(map[string]bool, len(baseHeaders)+len(c.AllowHeaders))
	for _, h := range baseHeaders {
		s.headers[h] = true
	}
	for _, h := range c.AllowHeaders {
		name := http.CanonicalHeaderKey(strings.TrimSpace(h))
		if reservedHeader(name) {
			return nil, fmt.Errorf("oryproxy: AllowHeaders cannot forward %q", h)
		}
		s.headers[name] = true
	}

	for _, name := range c.Cookies {
		if strings.TrimSuffix(name, "*") == "" || strings.ContainsAny(name, "=; \t,") {
			return nil, fmt.Errorf("oryproxy: invalid cookie name %q in Cookies", name)
		}
	}
	s.cookies = newCookieMatcher(append(append([]string(nil), DefaultCookies...), c.Cookies...))
	s.session = newCookieMatcher(sessionCookies)
	return s, nil
}

// baseURL parses an absolute http(s) URL without credentials, query or
// fragment.
func baseURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("oryproxy: %s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("oryproxy: %s: %w", field, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("oryproxy: %s %q must be an absolute http or https URL", field, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("oryproxy: %s %q must not carry credentials, a query or a fragment", field, raw)
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil && port == "" {
		return nil, fmt.Errorf("oryproxy: %s %q has an empty port", field, raw)
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}
