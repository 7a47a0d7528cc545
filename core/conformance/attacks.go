package conformance

import (
	"net/http"
	"net/url"
	"strings"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// Attacks on the guard (RELIABILITY.md): planted cookies that would veto
// a real session, the cache outliving a logout, cross-site logout, and
// return_to and redirect targets off the app.

const reasonCrossSite = "Logout must be requested from the app's own pages."

func allowCustomDomain(_ *caseEnv, cfg *core.Config) {
	cfg.AllowedRedirectOrigins = []string{"https://" + customDomain}
}

// rawHeader sets a header as is.
func rawHeader(name, value string) reqOpt {
	return func(_ *caseEnv, r *http.Request) { r.Header.Set(name, value) }
}

func logoutURL(e *caseEnv, returnTo string) *Location {
	q := url.Values{"token": {"fake-logout-token"}, "return_to": {returnTo}}
	return &Location{Scheme: "http", Host: e.OryHost, Path: "/self-service/logout", Query: q}
}

func attackCases() []tableCase {
	five := "ory_session_a=1; ory_session_b=1; ory_session_c=1; ory_session_d=1; ory_session_e=1"
	return []tableCase{
		// --- planted cookies never veto a session Kratos would accept -------
		{
			Name:  "planted/empty session cookie after the real one",
			Setup: session("planted-empty", active("s-planted", "pl@example.com")),
			Request: func(e *caseEnv) *http.Request {
				return get("/dashboard", browser, rawCookie(kratosCookie+"="+e.Cred("planted-empty")+"; "+kratosCookie+"="))(e)
			},
			Want: func(e *caseEnv) Outcome {
				return allowed("s-planted", "pl@example.com", whoamiCookie(kratosCookie+"="+e.Cred("planted-empty")))
			},
		},
		{
			Name:  "planted/five ory_session_* cookies next to the real one",
			Setup: session("planted-five", active("s-planted", "pl@example.com")),
			Request: func(e *caseEnv) *http.Request {
				return get("/dashboard", browser, rawCookie(five+"; "+kratosCookie+"="+e.Cred("planted-five")))(e)
			},
			Want: func(e *caseEnv) Outcome {
				return allowed("s-planted", "pl@example.com", whoamiCookie(five+"; "+kratosCookie+"="+e.Cred("planted-five")))
			},
		},
		{
			Name:  "planted/oversized session cookie before the real one",
			Setup: session("planted-big", active("s-planted", "pl@example.com")),
			Request: func(e *caseEnv) *http.Request {
				return get("/dashboard", browser, rawCookie(kratosCookie+"="+strings.Repeat("a", core.MaxCredentialLength+1)+"; "+kratosCookie+"="+e.Cred("planted-big")))(e)
			},
			Want: func(e *caseEnv) Outcome {
				return allowed("s-planted", "pl@example.com", whoamiCookie(kratosCookie+"="+e.Cred("planted-big")))
			},
		},

		// --- responses and redirects ----------------------------------------
		{
			Name:    "Ory requires AAL2, redirect_browser_to on an unknown origin: the guard's flow URL",
			Setup:   aal2FromOry("aal2-foreign"),
			Request: get("/dashboard", browser, cookie(kratosCookie, "aal2-foreign")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "aal", "aal2", "return_to", "/dashboard").with(whoamiCookie(kratosCookie + "=" + e.Cred("aal2-foreign")))
			},
		},
		{
			Name:    "return_to with dot segments under an AppURL prefix becomes the app's root",
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.AppURL = "https://app.example.com/base" },
			Request: get("/%2e%2e/other?x=1", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "https://app.example.com/base/") },
		},

		// --- a cached session failing the policy is asked about again -------
		{
			Name:    "RequireAAL2/cached aal1 session after a step-up in Ory",
			Options: []core.Option{core.RequireAAL2()},
			Before: []beforeStep{{
				Handler: mountProtected,
				Setup:   session("stepped-up", active("s-stepped", "su@example.com")),
				Request: get("/api/admin", header("X-Session-Token", "stepped-up")),
				Then: session("stepped-up", modified(active("s-stepped", "su@example.com"), func(s *client.Session) {
					s.AuthenticatorAssuranceLevel = ptr(client.AUTHENTICATORASSURANCELEVEL_AAL2)
				})),
			}},
			Request: get("/api/admin", header("X-Session-Token", "stepped-up")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-stepped", "su@example.com", whoamiToken(e.Cred("stepped-up")), whoamiToken(e.Cred("stepped-up")))
			},
		},

		// --- logout: eviction, CSRF, checked cookies ------------------------
		{
			Name:    "logout/native logout ends the token in the guard's cache too",
			Handler: mountProtected,
			Before: []beforeStep{
				{Handler: mountProtected, Setup: session("evict-token", active("s-evict", "ev@example.com")),
					Request: get("/api/me", header("X-Session-Token", "evict-token"))},
				{Handler: mountLogout, Request: post("/logout", "", "", header("X-Session-Token", "evict-token"))},
			},
			Request: get("/api/me", header("X-Session-Token", "evict-token")),
			Want: func(e *caseEnv) Outcome {
				o := apiError(401, "", reasonNoSession, "").with(whoamiToken(e.Cred("evict-token")),
					orytest.Recorded{Path: "/self-service/logout/api", SessionToken: e.Cred("evict-token")}, whoamiToken(e.Cred("evict-token")))
				o.HandlerRuns = 1 // the first request
				o.SessionID, o.Email, o.ContextSessionID = "s-evict", "ev@example.com", "s-evict"
				return o
			},
		},
		{
			// The fake Ory does not end the session when the logout URL is
			// handed out (Kratos does when the browser follows it); what this
			// shows is that the guard asks Ory again instead of its cache.
			Name:    "logout/browser logout takes the cookie out of the guard's cache",
			Handler: mountProtected,
			Before: []beforeStep{
				{Handler: mountProtected, Setup: session("evict-cookie", active("s-evict-c", "ec@example.com")),
					Request: get("/dashboard", browser, cookie(kratosCookie, "evict-cookie"))},
				{Handler: mountLogout, Request: post("/logout", "application/x-www-form-urlencoded", "", browser,
					rawHeader("Sec-Fetch-Site", "same-origin"), cookie(kratosCookie, "evict-cookie"))},
			},
			Request: get("/dashboard", browser, cookie(kratosCookie, "evict-cookie")),
			Want: func(e *caseEnv) Outcome {
				c := kratosCookie + "=" + e.Cred("evict-cookie")
				o := allowed("s-evict-c", "ec@example.com", whoamiCookie(c), orytest.Recorded{Path: logoutFlow, Cookie: c}, whoamiCookie(c))
				o.HandlerRuns = 2
				return o
			},
		},
		{
			Name:    "logout/cross-site GET link (Sec-Fetch-Site: cross-site) gets 403",
			Handler: mountLogout,
			Setup:   session("csrf-get", active("s-csrf", "cs@example.com")),
			Request: get("/logout", browser, rawHeader("Sec-Fetch-Site", "cross-site"), cookie(kratosCookie, "csrf-get")),
			Want:    func(e *caseEnv) Outcome { return browserError(403, reasonCrossSite) },
		},
		{
			Name:    "logout/cross-site POST form (foreign Origin) gets 403",
			Handler: mountLogout,
			Setup:   session("csrf-post", active("s-csrf", "cs@example.com")),
			Request: post("/logout", "application/x-www-form-urlencoded", "", browser, rawHeader("Origin", "https://evil.example"), cookie(kratosCookie, "csrf-post")),
			Want:    func(e *caseEnv) Outcome { return browserError(403, reasonCrossSite) },
		},
		{
			Name:    "logout/sibling subdomain (Sec-Fetch-Site: same-site) gets 403",
			Handler: mountLogout,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.AppURL = "http://example.com" },
			Setup:   session("csrf-sibling", active("s-csrf", "cs@example.com")),
			Request: post("/logout", "application/x-www-form-urlencoded", "", browser, rawHeader("Sec-Fetch-Site", "same-site"),
				rawHeader("Origin", "http://evil.example.com"), cookie(kratosCookie, "csrf-sibling")),
			Want: func(e *caseEnv) Outcome { return browserError(403, reasonCrossSite) },
		},
		{
			Name:    "logout/same-origin POST (Origin is AppURL's) gets the logout URL",
			Handler: mountLogout,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.AppURL = "http://example.com" },
			Setup:   session("same-post", active("s-same", "sa@example.com")),
			Request: post("/logout?return_to=%2Fbye", "application/x-www-form-urlencoded", "", browser,
				rawHeader("Sec-Fetch-Site", "same-origin"), rawHeader("Origin", "http://example.com"), cookie(kratosCookie, "same-post")),
			Want: func(e *caseEnv) Outcome {
				return Outcome{Status: 303, Location: logoutURL(e, "http://example.com/bye"), CacheControl: noStore,
					Ory: e.identified(orytest.Recorded{Path: logoutFlow, Cookie: kratosCookie + "=" + e.Cred("same-post")})}
			},
		},
		{
			Name:    "logout/same-origin GET without AppURL (Origin is the Host) gets the logout URL",
			Handler: mountLogout,
			Setup:   session("same-get", active("s-same", "sa@example.com")),
			Request: get("/logout", browser, rawHeader("Sec-Fetch-Site", "same-origin"), rawHeader("Origin", "http://example.com"), cookie(kratosCookie, "same-get")),
			Want: func(e *caseEnv) Outcome {
				return Outcome{Status: 303, Location: logoutURL(e, ""), CacheControl: noStore,
					Ory: e.identified(orytest.Recorded{Path: logoutFlow, Cookie: kratosCookie + "=" + e.Cred("same-get")})}
			},
		},
		{
			// A tab: a control byte that is no cookie octet, yet one that
			// fasthttp 1.69 (Fiber v3, and Fiber v2 beside it) lets through
			// to the handler; it refuses \x01 while reading the headers.
			Name:    "logout/control byte in the session cookie: no session, not a 502",
			Handler: mountLogout,
			Request: get("/logout?return_to=%2Fbye", browser, rawCookie(kratosCookie+"=a\tb")),
			Want:    func(e *caseEnv) Outcome { return redirectTo("/bye") },
		},
	}
}
