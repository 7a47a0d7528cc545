package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// The guard's texts, spelled out so that every case states exact bytes.
const (
	reasonNoSession   = "No valid Ory session was found in the request."
	reasonAAL2        = "The session must be verified with a second factor."
	reasonRefresh     = "The session must be re-authenticated."
	reasonRateLimited = "Ory is rate-limiting session checks; try again later."
	reasonUnavailable = "The session could not be verified because Ory is unavailable."
	reasonTimeout     = "The session could not be verified in time."
	reasonBusy        = "Too many session checks are in flight; try again shortly."

	jsonType = "application/json; charset=utf-8"
	textType = "text/plain; charset=utf-8"
	noStore  = "no-store"
	private  = "private"

	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"

	kratosCookie  = "ory_kratos_session"
	networkCookie = "ory_session_playfulbanach" // Ory Network: ory_session_<project slug>

	whoami       = "/sessions/whoami"
	logoutFlow   = "/self-service/logout/browser"
	loginFlow    = "/self-service/login/browser"
	customDomain = "auth.example.com" // where Ory's redirect_browser_to points (an Ory Network custom domain)
)

// table is the conformance table: the guard's answers (this file), attacks
// on the guard (attacks.go), and the config form's error handler, skipping
// and app checks (denials.go).
func table() []tableCase {
	return append(append(answerCases(), attackCases()...), denialCases()...)
}

func answerCases() []tableCase {
	return []tableCase{
		// --- no credential --------------------------------------------------
		{
			Name:    "no credential/browser",
			Request: get("/dashboard", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/dashboard") },
		},
		{
			// The 401 names the login URL the redirect would use.
			Name:    "no credential/API (Accept JSON)",
			Request: get("/dashboard", acceptJSON),
			Want:    func(e *caseEnv) Outcome { return apiError(401, "", reasonNoSession, loginURL(e, "/dashboard")) },
		},
		{
			Name:    "no credential/API (JSON body, no Accept)",
			Request: post("/api/items", "application/json", `{"name":"x"}`),
			Want:    func(e *caseEnv) Outcome { return apiError(401, "", reasonNoSession, loginURL(e, "/api/items")) },
		},
		{
			// fetch() sends Accept: */* and cannot follow a 303 to Ory.
			Name:    "no credential/fetch (Sec-Fetch-Mode cors, Accept */*) gets the 401 JSON",
			Request: get("/dashboard?tab=1", rawHeader("Accept", "*/*"), fetchMeta("cors", "empty", "same-origin")),
			Want:    func(e *caseEnv) Outcome { return apiError(401, "", reasonNoSession, loginURL(e, "/dashboard?tab=1")) },
		},
		{
			Name:    "no credential/fetch with an HTML Accept (Sec-Fetch-Mode same-origin) gets the 401 JSON",
			Request: get("/dashboard", browser, fetchMeta("same-origin", "", "")),
			Want:    func(e *caseEnv) Outcome { return apiError(401, "", reasonNoSession, loginURL(e, "/dashboard")) },
		},
		{
			Name:    "no credential/not a document (Sec-Fetch-Dest image) gets the 401 JSON",
			Request: get("/avatar.png", rawHeader("Accept", "image/*"), fetchMeta("no-cors", "image", "same-origin")),
			Want:    func(e *caseEnv) Outcome { return apiError(401, "", reasonNoSession, loginURL(e, "/avatar.png")) },
		},
		{
			Name:    "no credential/page load (Sec-Fetch-Mode navigate) gets 303",
			Request: get("/dashboard", browser, fetchMeta("navigate", "document", "same-origin")),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/dashboard") },
		},
		{
			Name:    "no credential/ForceBrowser wins over fetch metadata",
			Options: []core.Option{core.ForceBrowser()},
			Request: get("/dashboard", rawHeader("Accept", "*/*"), fetchMeta("cors", "empty", "same-origin")),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/dashboard") },
		},
		{
			Name:    "no credential/browser POST gets 303 and the handler does not run",
			Request: post("/dashboard", "application/x-www-form-urlencoded", "a=1", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/dashboard") },
		},
		{
			Name:    "oversized session cookie is no credential (Ory not asked)",
			Request: get("/dashboard", browser, rawCookie(kratosCookie+"="+strings.Repeat("a", core.MaxCredentialLength+1))),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/dashboard") },
		},

		// --- valid credentials ---------------------------------------------
		{
			Name:    "valid cookie ory_kratos_session",
			Setup:   session("cookie", active("s-cookie", "ada@example.com")),
			Request: get("/dashboard", browser, cookie(kratosCookie, "cookie")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-cookie", "ada@example.com", whoamiCookie(kratosCookie+"="+e.Cred("cookie")))
			},
		},
		{
			Name:    "valid cookie ory_session_<slug>",
			Setup:   session("network", active("s-network", "bo@example.com")),
			Request: get("/dashboard", browser, cookie(networkCookie, "network")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-network", "bo@example.com", whoamiCookie(networkCookie+"="+e.Cred("network")))
			},
		},
		{
			Name:    "valid X-Session-Token",
			Setup:   session("token", active("s-token", "cy@example.com")),
			Request: get("/api/me", header("X-Session-Token", "token")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-token", "cy@example.com", whoamiToken(e.Cred("token")))
			},
		},
		{
			// Kratos reads Authorization: Bearer as a session token; the guard
			// forwards it as X-Session-Token.
			Name:    "valid Authorization Bearer",
			Setup:   session("bearer", active("s-bearer", "di@example.com")),
			Request: get("/api/me", bearerToken("bearer")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-bearer", "di@example.com", whoamiToken(e.Cred("bearer")))
			},
		},
		{
			Name:  "extra app cookies never reach Ory",
			Setup: session("extra", active("s-extra", "ed@example.com")),
			Request: func(e *caseEnv) *http.Request {
				return get("/dashboard", browser, rawCookie(
					"theme=dark; "+kratosCookie+"="+e.Cred("extra")+"; csrf_token_8a1b=Zm9vYmFy; _ga=GA1.2.1234.5678"))(e)
			},
			Want: func(e *caseEnv) Outcome {
				return allowed("s-extra", "ed@example.com", whoamiCookie(kratosCookie+"="+e.Cred("extra")))
			},
		},
		{
			Name:  "session cookie in a second Cookie header",
			Setup: session("second", active("s-second", "fa@example.com")),
			Request: func(e *caseEnv) *http.Request {
				return get("/dashboard", browser, rawCookie("theme=dark"), rawCookie(kratosCookie+"="+e.Cred("second")))(e)
			},
			Want: func(e *caseEnv) Outcome {
				return allowed("s-second", "fa@example.com", whoamiCookie(kratosCookie+"="+e.Cred("second")))
			},
		},
		{
			// Two cookies with the session cookie's name (one per domain or
			// path after session.cookie.domain changed): Kratos uses the
			// first it can decode, and its login flow sends a browser with a
			// valid session straight back, so treating them as no
			// credential would loop between the app and Ory.
			Name:  "duplicate session cookies all reach Ory, which chooses",
			Setup: session("dup-first", active("s-first", "dup@example.com")),
			Request: func(e *caseEnv) *http.Request {
				return get("/dashboard", browser, rawCookie(kratosCookie+"="+e.Cred("dup-first")+"; "+kratosCookie+"="+e.Cred("dup-stale")))(e)
			},
			Want: func(e *caseEnv) Outcome {
				return allowed("s-first", "dup@example.com", whoamiCookie(kratosCookie+"="+e.Cred("dup-first")+"; "+kratosCookie+"="+e.Cred("dup-stale")))
			},
		},
		{
			Name: "Set-Cookie from whoami is passed on (session cookies only)",
			Setup: func(e *caseEnv) {
				replySession(e, "extend", active("s-extend", "gu@example.com"), http.Header{"Set-Cookie": {
					extendedCookie(e), "tracking=1; Path=/",
				}})
			},
			Request: get("/dashboard", browser, cookie(kratosCookie, "extend")),
			Want: func(e *caseEnv) Outcome {
				o := allowed("s-extend", "gu@example.com", whoamiCookie(kratosCookie+"="+e.Cred("extend")))
				o.SetCookie = []string{extendedCookie(e)}
				o.CacheControl = private // never stored by a shared cache
				return o
			},
		},
		{
			// Depends on cache state: the same credential twice in a row. With
			// the cache on, the second request is answered from the cache (no
			// whoami call, so no Set-Cookie to pass on).
			Name: "same credential twice (whoami calls depend on the cache)",
			Setup: func(e *caseEnv) {
				replySession(e, "twice", active("s-twice", "ha@example.com"), http.Header{"Set-Cookie": {extendedCookie(e)}})
			},
			Request: get("/dashboard", browser, cookie(kratosCookie, "twice")),
			Repeat:  2,
			Want: func(e *caseEnv) Outcome {
				call := whoamiCookie(kratosCookie + "=" + e.Cred("twice"))
				o := allowed("s-twice", "ha@example.com", call, call)
				o.HandlerRuns = 2
				o.SetCookie = []string{extendedCookie(e)}
				o.CacheControl = private
				if e.Cache {
					o.Ory = o.Ory[:1]
					o.SetCookie = nil
					o.CacheControl = ""
				}
				return o
			},
		},

		// --- sessions Ory does not count as active --------------------------
		{
			Name:    "unknown cookie (Ory 401)/browser",
			Request: get("/dashboard", browser, cookie(kratosCookie, "unknown")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "return_to", "/dashboard").with(whoamiCookie(kratosCookie + "=" + e.Cred("unknown")))
			},
		},
		{
			Name:    "unknown token (Ory 401)/API",
			Request: get("/api/me", header("X-Session-Token", "unknown")),
			Want: func(e *caseEnv) Outcome {
				return apiError(401, "", reasonNoSession, "").with(whoamiToken(e.Cred("unknown")))
			},
		},
		{
			Name:    "inactive session/browser",
			Setup:   session("inactive", modified(active("s-inactive", "ia@example.com"), func(s *client.Session) { s.Active = ptr(false) })),
			Request: get("/dashboard", browser, cookie(kratosCookie, "inactive")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "return_to", "/dashboard").with(whoamiCookie(kratosCookie + "=" + e.Cred("inactive")))
			},
		},
		{
			Name:    "inactive session/API",
			Setup:   session("inactive-api", modified(active("s-inactive", "ia@example.com"), func(s *client.Session) { s.Active = ptr(false) })),
			Request: get("/api/me", header("X-Session-Token", "inactive-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(401, "", reasonNoSession, "").with(whoamiToken(e.Cred("inactive-api")))
			},
		},
		{
			Name: "expired session/browser",
			Setup: session("expired", modified(active("s-expired", "ex@example.com"), func(s *client.Session) {
				s.ExpiresAt = ptr(time.Now().Add(-time.Minute))
			})),
			Request: get("/dashboard", browser, cookie(kratosCookie, "expired")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "return_to", "/dashboard").with(whoamiCookie(kratosCookie + "=" + e.Cred("expired")))
			},
		},
		{
			Name: "expired session/API",
			Setup: session("expired-api", modified(active("s-expired", "ex@example.com"), func(s *client.Session) {
				s.ExpiresAt = ptr(time.Now().Add(-time.Minute))
			})),
			Request: get("/api/me", bearerToken("expired-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(401, "", reasonNoSession, "").with(whoamiToken(e.Cred("expired-api")))
			},
		},
		{
			Name: "identity not active/API",
			Setup: session("banned", modified(active("s-banned", "ba@example.com"), func(s *client.Session) {
				s.Identity.State = ptr("inactive")
			})),
			Request: get("/api/me", header("X-Session-Token", "banned")),
			Want: func(e *caseEnv) Outcome {
				return apiError(401, "", reasonNoSession, "").with(whoamiToken(e.Cred("banned")))
			},
		},

		// --- step-up demanded by Ory ----------------------------------------
		{
			Name:    "Ory requires AAL2 (403 session_aal2_required)/browser",
			Config:  allowCustomDomain,
			Setup:   aal2FromOry("aal2"),
			Request: get("/dashboard", browser, cookie(kratosCookie, "aal2")),
			Want: func(e *caseEnv) Outcome {
				o := toLogin(e, "aal", "aal2", "return_to", "/dashboard").with(whoamiCookie(kratosCookie + "=" + e.Cred("aal2")))
				o.Location.Scheme, o.Location.Host = "https", customDomain
				return o
			},
		},
		{
			Name:    "Ory requires AAL2 (403 session_aal2_required)/API",
			Config:  allowCustomDomain,
			Setup:   aal2FromOry("aal2-api"),
			Request: get("/api/me", header("X-Session-Token", "aal2-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "session_aal2_required", reasonAAL2,
					"https://"+customDomain+loginFlow+"?aal=aal2&return_to=%2Fapi%2Fme").with(whoamiToken(e.Cred("aal2-api")))
			},
		},

		// --- route policies -------------------------------------------------
		{
			Name:    "Optional/with session",
			Options: []core.Option{core.Optional()},
			Setup:   session("optional", active("s-optional", "op@example.com")),
			Request: get("/home", browser, cookie(kratosCookie, "optional")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-optional", "op@example.com", whoamiCookie(kratosCookie+"="+e.Cred("optional")))
			},
		},
		{
			Name:    "Optional/without credential",
			Options: []core.Option{core.Optional()},
			Request: get("/home", browser),
			Want:    func(e *caseEnv) Outcome { return anonymous(why("ErrNoSession", false)) },
		},
		{
			Name:    "Optional/unknown cookie",
			Options: []core.Option{core.Optional()},
			Request: get("/home", acceptJSON, cookie(kratosCookie, "optional-unknown")),
			Want: func(e *caseEnv) Outcome {
				return anonymous(why("ErrNoSession", true), whoamiCookie(kratosCookie+"="+e.Cred("optional-unknown")))
			},
		},
		{
			Name:    "Optional/Ory failing (500)",
			Options: []core.Option{core.Optional()},
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}),
			Request: get("/home", browser, cookie(kratosCookie, "optional-500")),
			Want: func(e *caseEnv) Outcome {
				return anonymous(why("ErrOryUnavailable", false), whoamiCookie(kratosCookie+"="+e.Cred("optional-500")))
			},
		},
		{
			Name:    "Optional/Ory rate-limiting (429)",
			Options: []core.Option{core.Optional()},
			Setup:   replyAll(rateLimited()),
			Request: get("/home", browser, cookie(kratosCookie, "optional-429")),
			Want: func(e *caseEnv) Outcome {
				return anonymous(why("ErrRateLimited", false), whoamiCookie(kratosCookie+"="+e.Cred("optional-429")))
			},
		},
		{
			Name:    "RequireAAL2/aal1 session/browser",
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("aal1", active("s-aal1", "al@example.com")),
			Request: get("/admin?tab=keys", browser, cookie(kratosCookie, "aal1")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "aal", "aal2", "return_to", "/admin?tab=keys").with(whoamiCookie(kratosCookie + "=" + e.Cred("aal1")))
			},
		},
		{
			Name:    "RequireAAL2/aal1 session/API",
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("aal1-api", active("s-aal1", "al@example.com")),
			Request: get("/api/admin", header("X-Session-Token", "aal1-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "session_aal2_required", reasonAAL2,
					e.OryURL+loginFlow+"?aal=aal2&return_to=%2Fapi%2Fadmin").with(whoamiToken(e.Cred("aal1-api")))
			},
		},
		{
			Name:    "RequireAAL2/aal2 session",
			Options: []core.Option{core.RequireAAL2()},
			Setup: session("aal2-ok", modified(active("s-aal2", "mf@example.com"), func(s *client.Session) {
				s.AuthenticatorAssuranceLevel = ptr(client.AUTHENTICATORASSURANCELEVEL_AAL2)
			})),
			Request: get("/admin", browser, cookie(kratosCookie, "aal2-ok")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-aal2", "mf@example.com", whoamiCookie(kratosCookie+"="+e.Cred("aal2-ok")))
			},
		},
		{
			Name:    "MaxAuthAge/old authentication/browser",
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("old", authenticatedAgo(active("s-old", "ol@example.com"), 2*time.Hour)),
			Request: get("/settings", browser, cookie(kratosCookie, "old")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "refresh", "true", "return_to", "/settings").with(whoamiCookie(kratosCookie + "=" + e.Cred("old")))
			},
		},
		{
			Name:    "MaxAuthAge/old authentication/API",
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("old-api", authenticatedAgo(active("s-old", "ol@example.com"), 2*time.Hour)),
			Request: get("/api/settings", header("X-Session-Token", "old-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "session_refresh_required", reasonRefresh,
					e.OryURL+loginFlow+"?refresh=true&return_to=%2Fapi%2Fsettings").with(whoamiToken(e.Cred("old-api")))
			},
		},
		{
			Name:    "MaxAuthAge/recent authentication",
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("recent", active("s-recent", "re@example.com")),
			Request: get("/settings", browser, cookie(kratosCookie, "recent")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-recent", "re@example.com", whoamiCookie(kratosCookie+"="+e.Cred("recent")))
			},
		},
		{
			Name:    "RequireAAL2 and MaxAuthAge/aal1 and old",
			Options: []core.Option{core.RequireAAL2(), core.MaxAuthAge(time.Hour)},
			Setup:   session("both", authenticatedAgo(active("s-both", "bt@example.com"), 2*time.Hour)),
			Request: get("/admin", browser, cookie(kratosCookie, "both")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "aal", "aal2", "refresh", "true", "return_to", "/admin").with(whoamiCookie(kratosCookie + "=" + e.Cred("both")))
			},
		},
		{
			Name:    "ForceAPI/browser without credential",
			Options: []core.Option{core.ForceAPI()},
			Request: get("/dashboard", browser),
			Want:    func(e *caseEnv) Outcome { return apiError(401, "", reasonNoSession, loginURL(e, "/dashboard")) },
		},
		{
			Name:    "ForceBrowser/JSON client without credential",
			Options: []core.Option{core.ForceBrowser()},
			Request: get("/dashboard", acceptJSON),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/dashboard") },
		},
		{
			Name:    "ForceBrowser/unknown token",
			Options: []core.Option{core.ForceBrowser()},
			Request: get("/dashboard", header("X-Session-Token", "force-browser")),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "return_to", "/dashboard").with(whoamiToken(e.Cred("force-browser")))
			},
		},

		// --- Ory failing: never a login redirect ----------------------------
		{
			Name:    "Ory 429 with Retry-After/browser",
			Setup:   replyAll(rateLimited()),
			Request: get("/dashboard", browser, cookie(kratosCookie, "limited")),
			Want: func(e *caseEnv) Outcome {
				o := browserError(429, reasonRateLimited).with(whoamiCookie(kratosCookie + "=" + e.Cred("limited")))
				o.RetryAfter = "7"
				return o
			},
		},
		{
			Name:    "Ory 429 with Retry-After/API",
			Setup:   replyAll(rateLimited()),
			Request: get("/api/me", header("X-Session-Token", "limited-api")),
			Want: func(e *caseEnv) Outcome {
				o := apiError(429, "", reasonRateLimited, "").with(whoamiToken(e.Cred("limited-api")))
				o.RetryAfter = "7"
				return o
			},
		},
		{
			Name:    "Ory 500/browser",
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500,"status":"Internal Server Error"}}`)}),
			Request: get("/dashboard", browser, cookie(kratosCookie, "ory500")),
			Want: func(e *caseEnv) Outcome {
				return browserError(502, reasonUnavailable).with(whoamiCookie(kratosCookie + "=" + e.Cred("ory500")))
			},
		},
		{
			Name:    "Ory 500/API",
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500,"status":"Internal Server Error"}}`)}),
			Request: get("/api/me", header("X-Session-Token", "ory500-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(502, "", reasonUnavailable, "").with(whoamiToken(e.Cred("ory500-api")))
			},
		},
		{
			Name:    "Ory unreachable (closed port)",
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.OryURL = e.ClosedURL },
			Request: get("/dashboard", browser, cookie(kratosCookie, "unreachable")),
			Want:    func(e *caseEnv) Outcome { return browserError(502, reasonUnavailable) },
		},
		{
			Name:    "Ory timeout (fake hangs, guard Timeout 200ms)",
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Timeout = 200 * time.Millisecond },
			Setup:   replyAll(orytest.Reply{Hang: true}),
			Request: get("/api/me", header("X-Session-Token", "hang")),
			Want: func(e *caseEnv) Outcome {
				return apiError(504, "", reasonTimeout, "").with(whoamiToken(e.Cred("hang")))
			},
		},
		{
			Name: "Ory answer cut short",
			Setup: func(e *caseEnv) {
				replySessionWith(e, "truncated", active("s-truncated", "tr@example.com"), orytest.Reply{Truncate: true})
			},
			Request: get("/dashboard", browser, cookie(kratosCookie, "truncated")),
			Want: func(e *caseEnv) Outcome {
				return browserError(502, reasonUnavailable).with(whoamiCookie(kratosCookie + "=" + e.Cred("truncated")))
			},
		},
		{
			Name:    "garbage 200 body",
			Setup:   replyAll(orytest.Reply{Body: []byte("<html>maintenance</html>")}),
			Request: get("/dashboard", browser, cookie(kratosCookie, "garbage")),
			Want: func(e *caseEnv) Outcome {
				return browserError(502, reasonUnavailable).with(whoamiCookie(kratosCookie + "=" + e.Cred("garbage")))
			},
		},
		{
			Name:    "200 JSON that is not a session",
			Setup:   replyAll(orytest.Reply{Body: []byte(`{"status":"ok"}`)}),
			Request: get("/api/me", header("X-Session-Token", "not-a-session")),
			Want: func(e *caseEnv) Outcome {
				return apiError(502, "", reasonUnavailable, "").with(whoamiToken(e.Cred("not-a-session")))
			},
		},

		// --- return_to --------------------------------------------------------
		{
			Name:    "return_to keeps an encoded path and query exactly",
			Request: get("/a%20b/c%2Fd?x=1&y=%2F&z=%E2%9C%93", browser),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "return_to", "/a%20b/c%2Fd?x=1&y=%2F&z=%E2%9C%93")
			},
		},
		{
			Name:    "return_to is absolute with AppURL",
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.AppURL = "https://app.example.com/base/" },
			Request: get("/a%20b/c?x=1&y=%2F", browser),
			Want: func(e *caseEnv) Outcome {
				return toLogin(e, "return_to", "https://app.example.com/base/a%20b/c?x=1&y=%2F")
			},
		},
		{
			Name:    "return_to never points at another host",
			Request: get("//evil.example/phish?x=1", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/") },
		},

		// --- refresh handler ------------------------------------------------
		{
			Name:    "refresh/return_to",
			Handler: mountRefresh,
			Request: get("/refresh-session?return_to=%2Fsettings%3Ftab%3D2", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "refresh", "true", "return_to", "/settings?tab=2") },
		},
		{
			Name:    "refresh/foreign return_to",
			Handler: mountRefresh,
			Request: get("/refresh-session?return_to=https%3A%2F%2Fevil.example%2F", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "refresh", "true", "return_to", "/") },
		},
		{
			Name:    "refresh/no return_to",
			Handler: mountRefresh,
			Request: get("/refresh-session", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "refresh", "true", "return_to", "/") },
		},

		// --- logout handler -------------------------------------------------
		{
			Name:    "logout/with session",
			Handler: mountLogout,
			Setup:   session("logout", active("s-logout", "lo@example.com")),
			Request: get("/logout?return_to=%2Fbye", browser, rawCookie("theme=dark"), cookie(kratosCookie, "logout")),
			Want: func(e *caseEnv) Outcome {
				return Outcome{
					Status: 303,
					Location: &Location{Scheme: "http", Host: e.OryHost, Path: "/self-service/logout",
						Query: url.Values{"token": {"fake-logout-token"}, "return_to": {"/bye"}}},
					CacheControl: noStore,
					Ory:          e.identified(orytest.Recorded{Path: logoutFlow, Cookie: kratosCookie + "=" + e.Cred("logout")}),
				}
			},
		},
		{
			Name:    "logout/without session",
			Handler: mountLogout,
			Request: get("/logout?return_to=%2Fbye", browser),
			Want:    func(e *caseEnv) Outcome { return redirectTo("/bye") },
		},
		{
			Name:    "logout/unknown session (Ory 401)",
			Handler: mountLogout,
			Request: get("/logout?return_to=%2Fbye", browser, cookie(kratosCookie, "logout-unknown")),
			Want: func(e *caseEnv) Outcome {
				return redirectTo("/bye").with(orytest.Recorded{Path: logoutFlow, Cookie: kratosCookie + "=" + e.Cred("logout-unknown")})
			},
		},
		{
			// fetch() cannot follow a 303 to Ory: it gets the URL in JSON.
			Name:    "logout/fetch POST gets the logout URL in JSON",
			Handler: mountLogout,
			Setup:   session("logout-fetch", active("s-logout-fetch", "lf@example.com")),
			Request: post("/logout?return_to=%2Fbye", "", "", rawHeader("Accept", "*/*"), fetchMeta("cors", "empty", "same-origin"),
				rawHeader("Origin", "http://example.com"), cookie(kratosCookie, "logout-fetch")),
			Want: func(e *caseEnv) Outcome {
				return Outcome{
					Status:       200,
					Body:         `{"logout_url":"` + e.OryURL + `/self-service/logout?token=fake-logout-token\u0026return_to=/bye"}`,
					ContentType:  jsonType,
					CacheControl: noStore,
					Ory:          e.identified(orytest.Recorded{Path: logoutFlow, Cookie: kratosCookie + "=" + e.Cred("logout-fetch")}),
				}
			},
		},
		{
			Name:    "logout/fetch POST without session gets return_to in JSON",
			Handler: mountLogout,
			Request: post("/logout?return_to=%2Fbye", "", "", rawHeader("Accept", "*/*"), fetchMeta("cors", "empty", "same-origin")),
			Want: func(e *caseEnv) Outcome {
				return Outcome{Status: 200, Body: `{"logout_url":"/bye"}`, ContentType: jsonType, CacheControl: noStore}
			},
		},
		{
			Name:    "logout/cross-site fetch POST gets 403 JSON",
			Handler: mountLogout,
			Request: post("/logout", "", "", rawHeader("Accept", "*/*"), fetchMeta("cors", "empty", "cross-site"),
				rawHeader("Origin", "https://evil.example"), cookie(kratosCookie, "logout-fetch-csrf")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "", "Logout must be requested from the app's own pages.", "")
			},
		},
		{
			Name:    "logout/foreign return_to",
			Handler: mountLogout,
			Request: get("/logout?return_to=https%3A%2F%2Fevil.example%2F", browser),
			Want:    func(e *caseEnv) Outcome { return redirectTo("/") },
		},
		{
			// A native client logs out with its token through Ory's API.
			Name:    "logout/native client with X-Session-Token",
			Handler: mountLogout,
			Setup:   session("logout-token", active("s-logout-token", "nt@example.com")),
			Request: get("/logout", header("X-Session-Token", "logout-token")),
			Want: func(e *caseEnv) Outcome {
				return Outcome{Status: 204, CacheControl: noStore,
					Ory: e.identified(orytest.Recorded{Path: "/self-service/logout/api", SessionToken: e.Cred("logout-token")})}
			},
		},
		{
			Name:    "logout/native client with Bearer, Ory down",
			Handler: mountLogout,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.OryURL = e.ClosedURL },
			Request: get("/logout", bearerToken("logout-bearer")),
			Want:    func(e *caseEnv) Outcome { return apiError(502, "", reasonUnavailable, "") },
		},
		{
			Name:    "logout/Ory unreachable",
			Handler: mountLogout,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.OryURL = e.ClosedURL },
			Request: get("/logout", browser, cookie(kratosCookie, "logout-down")),
			Want:    func(e *caseEnv) Outcome { return browserError(502, reasonUnavailable) },
		},
	}
}

// --- requests ---------------------------------------------------------------

type reqOpt func(e *caseEnv, r *http.Request)

func get(target string, opts ...reqOpt) func(*caseEnv) *http.Request {
	return build(http.MethodGet, target, "", "", opts)
}

func post(target, contentType, body string, opts ...reqOpt) func(*caseEnv) *http.Request {
	return build(http.MethodPost, target, contentType, body, opts)
}

func build(method, target, contentType, body string, opts []reqOpt) func(*caseEnv) *http.Request {
	return func(e *caseEnv) *http.Request {
		r := httptest.NewRequestWithContext(context.Background(), method, target, strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		for _, o := range opts {
			o(e, r)
		}
		return r
	}
}

func browser(_ *caseEnv, r *http.Request)    { r.Header.Set("Accept", browserAccept) }
func acceptJSON(_ *caseEnv, r *http.Request) { r.Header.Set("Accept", "application/json") }

// cookie adds a Cookie header carrying the run's credential cred.
func cookie(name, cred string) reqOpt {
	return func(e *caseEnv, r *http.Request) { r.Header.Add("Cookie", name+"="+e.Cred(cred)) }
}

// fetchMeta sets the fetch metadata headers a browser sends (each when not
// empty).
func fetchMeta(mode, dest, site string) reqOpt {
	return func(_ *caseEnv, r *http.Request) {
		for k, v := range map[string]string{"Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest, "Sec-Fetch-Site": site} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
	}
}

// loginURL is the fake Ory's browser login URL returning to target, as the
// guard builds it (and names it in a 401's redirect_browser_to).
func loginURL(e *caseEnv, target string) string {
	return e.OryURL + loginFlow + "?" + url.Values{"return_to": {target}}.Encode()
}

// rawCookie adds a Cookie header as is.
func rawCookie(v string) reqOpt {
	return func(_ *caseEnv, r *http.Request) { r.Header.Add("Cookie", v) }
}

// header sets a header to the run's credential cred.
func header(name, cred string) reqOpt {
	return func(e *caseEnv, r *http.Request) { r.Header.Set(name, e.Cred(cred)) }
}

func bearerToken(cred string) reqOpt {
	return func(e *caseEnv, r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.Cred(cred)) }
}

// --- Ory's side ---------------------------------------------------------------

func active(id, email string) client.Session { return orytest.ActiveSession(id, email) }

func modified(s client.Session, f func(*client.Session)) client.Session {
	f(&s)
	return s
}

func authenticatedAgo(s client.Session, d time.Duration) client.Session {
	return modified(s, func(s *client.Session) { s.AuthenticatedAt = ptr(time.Now().Add(-d)) })
}

func ptr[T any](v T) *T { return &v }

func session(cred string, s client.Session) func(*caseEnv) {
	return func(e *caseEnv) { e.Ory.Session(e.Cred(cred), s) }
}

func replySession(e *caseEnv, cred string, s client.Session, h http.Header) {
	replySessionWith(e, cred, s, orytest.Reply{Header: h})
}

func replySessionWith(e *caseEnv, cred string, s client.Session, r orytest.Reply) {
	body, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	r.Body = body
	e.Ory.Reply(e.Cred(cred), r)
}

func replyAll(r orytest.Reply) func(*caseEnv) {
	return func(e *caseEnv) { e.Ory.ReplyAll(&r) }
}

func rateLimited() orytest.Reply {
	return orytest.Reply{
		Status: 429,
		Header: http.Header{"Retry-After": {"7"}, "X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"0"}},
		Body:   []byte(`{"error":{"code":429,"status":"Too Many Requests"}}`),
	}
}

func aal2FromOry(cred string) func(*caseEnv) {
	return func(e *caseEnv) {
		e.Ory.Reply(e.Cred(cred), orytest.Reply{
			Status: 403,
			Body:   orytest.AAL2Required("https://" + customDomain + loginFlow + "?aal=aal2"),
		})
	}
}

// extendedCookie is the Set-Cookie Kratos sends when it extends a session.
func extendedCookie(e *caseEnv) string {
	return kratosCookie + "=" + e.Cred("extended") + "; Path=/; Expires=Fri, 01 Jan 2100 00:00:00 GMT; Max-Age=86400; HttpOnly; SameSite=Lax"
}

// --- expectations -------------------------------------------------------------

func (o Outcome) with(r ...orytest.Recorded) Outcome {
	o.Ory = append(o.Ory, r...)
	return o
}

// identified is what Ory receives for a logout of a session the guard has
// not cached: the logout call and, with the cache on, the whoami call
// that learns the session's ID so that every spelling of it is forgotten
// (before a native logout, which ends the session; after Ory issued a
// browser logout URL, which does not).
func (e *caseEnv) identified(logout orytest.Recorded) []orytest.Recorded {
	if !e.Cache {
		return []orytest.Recorded{logout}
	}
	who := orytest.Recorded{Path: whoami, Cookie: logout.Cookie, SessionToken: logout.SessionToken}
	if logout.SessionToken != "" {
		return []orytest.Recorded{who, logout}
	}
	return []orytest.Recorded{logout, who}
}

func whoamiCookie(v string) orytest.Recorded { return orytest.Recorded{Path: whoami, Cookie: v} }
func whoamiToken(v string) orytest.Recorded  { return orytest.Recorded{Path: whoami, SessionToken: v} }

func allowed(id, email string, ory ...orytest.Recorded) Outcome {
	return Outcome{
		Status:           200,
		Body:             "protected handler ran with session " + id + "\n",
		ContentType:      ProtectedContentType,
		HandlerRuns:      1,
		SessionID:        id,
		Email:            email,
		ContextSessionID: id,
		Ory:              ory,
	}
}

// anonymous is the protected handler running without a session; sessionErr
// is what SessionError returned.
func anonymous(sessionErr *Seen, ory ...orytest.Recorded) Outcome {
	return Outcome{
		Status:       200,
		Body:         "protected handler ran without a session\n",
		ContentType:  ProtectedContentType,
		HandlerRuns:  1,
		SessionError: sessionErr,
		Ory:          ory,
	}
}

// why is the *core.Denial SessionError returns on an optional route that
// runs without a session.
func why(reason string, api bool) *Seen { return &Seen{Reason: reason, Denial: true, API: api} }

// custom is the suite's custom error page for a denial the ErrorHandler
// got.
func custom(d Seen, ory ...orytest.Recorded) Outcome {
	return Outcome{
		Status:      d.Status,
		Body:        fmt.Sprintf("custom: %d %s\n", d.Status, d.Reason),
		ContentType: PageContentType,
		Errors:      []Seen{d},
		Ory:         ory,
	}
}

// denial is what the ErrorHandler should get.
func denial(reason string, status int, api bool, loc *Location) Seen {
	return Seen{Reason: reason, Denial: true, Status: status, API: api, Location: loc}
}

// loginAt is the fake Ory's browser login flow; kv are the decoded query
// parameters, in pairs.
func loginAt(e *caseEnv, kv ...string) *Location { return toLogin(e, kv...).Location }

// toLogin is a 303 to the fake Ory's browser login flow; kv are the
// decoded query parameters, in pairs.
func toLogin(e *caseEnv, kv ...string) Outcome {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return Outcome{
		Status:       303,
		Location:     &Location{Scheme: "http", Host: e.OryHost, Path: loginFlow, Query: q},
		CacheControl: noStore,
	}
}

// redirectTo is a 303 to a path of the app.
func redirectTo(path string) Outcome {
	return Outcome{Status: 303, Location: &Location{Path: path}, CacheControl: noStore}
}

// apiError is the guard's JSON answer in Ory's error shape, spelled out.
func apiError(status int, id, reason, redirect string) Outcome {
	var b strings.Builder
	b.WriteString(`{"error":{`)
	if id != "" {
		fmt.Fprintf(&b, `"id":%q,`, id)
	}
	fmt.Fprintf(&b, `"code":%d,"status":%q,"reason":%q}`, status, http.StatusText(status), reason)
	if redirect != "" {
		// encoding/json escapes & as \u0026.
		fmt.Fprintf(&b, `,"redirect_browser_to":"%s"`, strings.ReplaceAll(redirect, "&", `\u0026`))
	}
	b.WriteString("}")
	return Outcome{Status: status, Body: b.String(), ContentType: jsonType, CacheControl: noStore}
}

// internalError is DefaultErrorHandler's plain 500 for an error that is not
// a *core.Denial.
func internalError() Outcome {
	return Outcome{Status: 500, Body: "Internal Server Error\n", ContentType: textType, ContentTypeOptions: "nosniff"}
}

// browserError is the guard's plain-text answer to a browser.
func browserError(status int, reason string) Outcome {
	return Outcome{Status: status, Body: reason + "\n", ContentType: textType, CacheControl: noStore}
}
