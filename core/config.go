package core

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults used when the matching Config field is left zero.
const (
	// DefaultTimeout bounds one whoami call to Ory, including waiting for
	// the response body.
	DefaultTimeout = 3 * time.Second

	// DefaultMaxConcurrentLookups bounds how many whoami calls for distinct
	// credentials may be in flight at once. Requests beyond it get 503 with
	// Retry-After instead of piling onto Ory.
	DefaultMaxConcurrentLookups = 256

	// DefaultCacheMaxEntries bounds the session cache when it is on and
	// CacheConfig.MaxEntries is zero.
	DefaultCacheMaxEntries = 10_000

	// DefaultCacheCap is the longest the guard reuses one of Ory's answers
	// when CacheConfig.TTL is zero, whatever Ory-Session-Cache-For says.
	// Ory Network sends a short Ory-Session-Cache-For, but self-hosted
	// Kratos with feature_flags.cacheable_sessions sends the session's
	// whole remaining lifetime (days) unless cacheable_sessions_max_age is
	// set, and following that would let a session revoked in Ory work on
	// for days. A minute keeps Ory's rate limits out of reach (one whoami
	// per active session and instance a minute: the developer plan's
	// 300/min serves 300 sessions browsing at once) while a session
	// revoked in Ory still stops working here within a minute. Set
	// CacheConfig.TTL to choose another bound.
	DefaultCacheCap = time.Minute

	// MaxCredentialLength is the longest session token or session cookie
	// value the guard forwards to Ory. Browsers cap a cookie at 4096 bytes,
	// so anything longer cannot be a real Ory credential and is treated as
	// no credential at all.
	MaxCredentialLength = 4096
)

// ErrInvalidConfig wraps every error New returns for a bad Config.
var ErrInvalidConfig = errors.New("oryguard: invalid configuration")

// DefaultSessionCookies are the session cookie names the guard looks for
// when Config.SessionCookies is empty: the self-hosted Kratos default and
// every Ory Network project cookie.
var DefaultSessionCookies = []string{"ory_kratos_session", "ory_session_*"}

// Config configures a Guard. Only OryURL is needed (or $ORY_SDK_URL).
type Config struct {
	// OryURL is Ory's public base URL: an Ory Network project URL
	// (https://<slug>.projects.oryapis.com), the `ory tunnel` URL
	// (http://localhost:4000) or a Kratos public URL. Empty means the
	// ORY_SDK_URL environment variable.
	OryURL string

	// BrowserURL is the URL browsers use to reach Ory, when that is not
	// OryURL: for example oryproxy's URL() (https://app.example/.ory), so
	// that Ory's cookies are set on the app's own domain. Every URL the
	// guard hands a browser (login, refresh, step-up, Ory's
	// redirect_browser_to and logout_url) points there; whoami still goes
	// server-side to OryURL. Empty means OryURL.
	BrowserURL string

	// AppURL is the app's public base URL (scheme, host and an optional
	// path prefix), used to make return_to absolute. Empty means return_to
	// is the request's path and query alone, which Ory resolves against its
	// default_browser_return_url. return_to is never built from the Host or
	// X-Forwarded-Host headers.
	AppURL string

	// AllowedRedirectOrigins lists the origins (scheme://host[:port]) other
	// than OryURL's to which the guard follows Ory's redirect_browser_to
	// (step-up, forbidden): for example an Ory Network custom domain when
	// OryURL is the project URL. A redirect_browser_to on any other origin
	// is not followed; the guard builds the login flow URL on OryURL
	// itself.
	AllowedRedirectOrigins []string

	// HTTPClient is used for calls to Ory. Nil means a client owned by the
	// guard whose transport keeps 64 idle connections per host. A client
	// given here is copied: the guard never follows redirects from Ory (that
	// would forward the credential elsewhere) and never uses a cookie jar
	// (that would mix users' sessions).
	HTTPClient *http.Client

	// Timeout bounds one whoami call. Zero means DefaultTimeout.
	Timeout time.Duration

	// SessionCookies lists the cookie names that carry an Ory session. A
	// name ending in "*" matches every cookie with that prefix. Empty means
	// DefaultSessionCookies. Only these cookies are ever sent to Ory.
	SessionCookies []string

	// Logger receives one line per Ory failure. Nil means slog.Default().
	// Credentials are never logged.
	Logger *slog.Logger

	// Cache configures the session cache. The zero value follows Ory's
	// Ory-Session-Cache-For, capped by DefaultCacheCap (see CacheConfig).
	Cache CacheConfig

	// MaxConcurrentLookups bounds concurrent whoami calls for distinct
	// credentials. Zero means DefaultMaxConcurrentLookups; negative means
	// unlimited. Calls to Ory Permissions (Permit) have a limit of the
	// same size of their own, so that a slow Keto cannot starve session
	// checks, nor the other way round; a check beyond it answers 503.
	MaxConcurrentLookups int

	// Observer receives decisions, cache lookups and whoami calls for
	// metrics and traces (adapters/otel: oryotel.New()). Nil means none.
	Observer Observer

	// LoginLoop configures the login-loop check: a browser that comes
	// back from Ory's login twice without a session cookie the app can
	// see gets a page that explains why instead of another redirect. The
	// zero value is on, with a random key.
	LoginLoop LoginLoopConfig

	// Permissions configures permission checks against Ory Permissions
	// (Keto) for routes with Permit options.
	Permissions PermissionsConfig
}

// CacheConfig configures the session cache. The zero value follows Ory:
// an active session is reused for as long as the Ory-Session-Cache-For
// header of Ory's whoami answer allows, less the answer's Age header when
// an edge cache sent one, and never longer than DefaultCacheCap; an answer
// without Ory-Session-Cache-For is not reused. Ory Network sends the header
// for its edge sessions; self-hosted Kratos only with
// feature_flags.cacheable_sessions (see DefaultCacheCap). So a session
// revoked in Ory stops working here no later than Ory itself promises.
//
// With TTL set, every active session is cached, for the smallest of TTL,
// the time left until the session's own expires_at and
// Ory-Session-Cache-For less Age (when Ory sent it), counted from when the
// question was sent. Set Disabled to ask Ory on every request.
//
// Only positive answers are cached: denials, errors and rate limits never
// are. The trade-off: a session revoked in Ory (logout elsewhere, admin
// revocation) keeps working in this process until its entry expires.
// Logout through the guard and Guard.ForgetSession end it at once.
//
// Keys are a keyed hash of the credential (a pseudorandom function:
// SHA-256 over a secret block and the length-prefixed credential; see
// SharedCache) under a random per-process secret, or the fleet's with
// Shared, so the cache never holds a raw token or cookie, and other cookies
// in the request do not cause misses. The store is github.com/maypok86/otter/v2: a
// bounded, concurrent cache with S3-FIFO eviction (high hit ratio, scan
// resistant, so a flood of random credentials cannot push out real users)
// and per-entry expiry.
type CacheConfig struct {
	// TTL is the longest a positive answer is reused, and turns on caching
	// of answers that carry no Ory-Session-Cache-For. Zero means
	// follow Ory-Session-Cache-For alone, capped by DefaultCacheCap.
	// Negative is an error (use Disabled).
	TTL time.Duration

	// Disabled turns the cache off: every request asks Ory (concurrent
	// requests with the same credential still share one call), so a
	// revocation in Ory takes effect at once, at the cost of one whoami
	// call per request against Ory's rate limits. TTL, MaxEntries and
	// StaleIfError are then ignored; Shared is an error.
	Disabled bool

	// MaxEntries bounds the number of cached sessions. Zero means
	// DefaultCacheMaxEntries.
	MaxEntries int

	// StaleIfError, when positive, lets the guard serve a cached session up
	// to this long after its entry went stale, but only while Ory is failing
	// (5xx, unreachable, timeout, 429), never beyond the session's own
	// expires_at, and with a log line each time.
	StaleIfError time.Duration

	// Shared, when set, is a session tier shared by every instance of the
	// app (github.com/oryguard/oryguard/adapters/redis): looked up after
	// this cache and before Ory, written with every answer from Ory, and
	// told about logouts so every instance forgets them (ForgetSession does
	// the same for sessions revoked through Ory's admin API). It needs TTL.
	// A tier that is down or slow only costs whoami calls: it is never a
	// reason to deny or to allow.
	Shared SharedCache
}

// baseURL checks that raw is an absolute http(s) URL with a host and returns
// it without a trailing slash, query or fragment.
func baseURL(field, raw, hint string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q is not a URL (%w); %s", ErrInvalidConfig, field, raw, err, hint)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s %q must be an absolute http or https URL with a host; %s", ErrInvalidConfig, field, raw, hint)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: %s must not contain user info; %s", ErrInvalidConfig, field, hint)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u, nil
}

func resolveOryURL(cfg string) (*url.URL, error) {
	const hint = "set core.Config.OryURL or ORY_SDK_URL to your Ory project URL (for example https://<slug>.projects.oryapis.com or http://localhost:4000)"
	raw := cfg
	field := "Config.OryURL"
	if raw == "" {
		raw = os.Getenv("ORY_SDK_URL")
		field = "ORY_SDK_URL"
	}
	if raw == "" {
		return nil, fmt.Errorf("%w: no Ory URL; %s", ErrInvalidConfig, hint)
	}
	return baseURL(field, raw, hint)
}

// defaultHTTPClient is a client whose transport keeps enough idle
// connections per host for a busy app; Go's default of 2 makes every
// concurrent miss beyond the second open a new connection.
func defaultHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t}
}

// safeClient copies c so that redirects are never followed and no cookie
// jar is used, whatever the caller configured.
func safeClient(c *http.Client) *http.Client {
	if c == nil {
		c = defaultHTTPClient()
	}
	cp := *c
	cp.Jar = nil
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}
