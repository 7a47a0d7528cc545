package conformance

import (
	"net/http"
	"strings"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// rpcNotApplicable are the rows of the HTTP table that no RPC row
// mirrors, and why. TestRPCTableCoversHTTPTable keeps this list and the
// RPC rows' Mirrors covering the whole HTTP table.
var rpcNotApplicable = map[string]string{
	"return_to keeps an encoded path and query exactly":                         "an RPC has no request target: return_to is the app's root",
	"return_to is absolute with AppURL":                                         "an RPC has no request target: return_to is the app's root",
	"return_to never points at another host":                                    "an RPC has no request target: return_to is the app's root",
	"return_to with dot segments under an AppURL prefix becomes the app's root": "an RPC has no request target: return_to is the app's root",
	"refresh/return_to":                                                              "the RPC adapters have no refresh handler",
	"refresh/foreign return_to":                                                      "the RPC adapters have no refresh handler",
	"refresh/no return_to":                                                           "the RPC adapters have no refresh handler",
	"logout/with session":                                                            "the RPC adapters have no logout handler",
	"logout/without session":                                                         "the RPC adapters have no logout handler",
	"logout/unknown session (Ory 401)":                                               "the RPC adapters have no logout handler",
	"logout/fetch POST gets the logout URL in JSON":                                  "the RPC adapters have no logout handler",
	"logout/fetch POST without session gets return_to in JSON":                       "the RPC adapters have no logout handler",
	"logout/cross-site fetch POST gets 403 JSON":                                     "the RPC adapters have no logout handler",
	"logout/foreign return_to":                                                       "the RPC adapters have no logout handler",
	"logout/native client with X-Session-Token":                                      "the RPC adapters have no logout handler",
	"logout/native client with Bearer, Ory down":                                     "the RPC adapters have no logout handler",
	"logout/Ory unreachable":                                                         "the RPC adapters have no logout handler",
	"logout/native logout ends the token in the guard's cache too":                   "the RPC adapters have no logout handler",
	"logout/browser logout takes the cookie out of the guard's cache":                "the RPC adapters have no logout handler",
	"logout/cross-site GET link (Sec-Fetch-Site: cross-site) gets 403":               "the RPC adapters have no logout handler",
	"logout/cross-site POST form (foreign Origin) gets 403":                          "the RPC adapters have no logout handler",
	"logout/sibling subdomain (Sec-Fetch-Site: same-site) gets 403":                  "the RPC adapters have no logout handler",
	"logout/same-origin POST (Origin is AppURL's) gets the logout URL":               "the RPC adapters have no logout handler",
	"logout/same-origin GET without AppURL (Origin is the Host) gets the logout URL": "the RPC adapters have no logout handler",
	"ErrorHandler returns the error/the framework's handler runs once, browser":      "an RPC framework has no error handler of its own: the ErrorHandler's error is the status (ErrorHandler/the app chooses the status)",
	"ErrorHandler returns the error/the framework's handler runs once, Ory 429":      "an RPC framework has no error handler of its own: the ErrorHandler's error is the status (ErrorHandler/the app chooses the status)",
}

// rpcTable is the RPC table: the API-client rows of the HTTP table as
// status codes (rpcAnswerCases), the ErrorHandler, public methods and app
// checks (rpcDenialCases), and hostile credentials (rpcHostileCases).
func rpcTable() []rpcCase {
	return append(append(append(rpcAnswerCases(), rpcDenialCases()...), rpcPermitCases()...), rpcHostileCases()...)
}

func rpcAnswerCases() []rpcCase {
	return []rpcCase{
		// --- no credential: an API answer, whatever the metadata says -------
		{
			Name: "no credential",
			Mirrors: []string{"no credential/API (Accept JSON)", "no credential/API (JSON body, no Accept)",
				"no credential/fetch (Sec-Fetch-Mode cors, Accept */*) gets the 401 JSON",
				"no credential/fetch with an HTML Accept (Sec-Fetch-Mode same-origin) gets the 401 JSON",
				"no credential/not a document (Sec-Fetch-Dest image) gets the 401 JSON"},
			Want: func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},
		{
			Name: "no credential, browser metadata: still Unauthenticated, never a redirect",
			Mirrors: []string{"no credential/browser", "no credential/page load (Sec-Fetch-Mode navigate) gets 303",
				"no credential/browser POST gets 303 and the handler does not run", "ForceAPI/browser without credential"},
			MD:   md("accept", browserAccept, "sec-fetch-mode", "navigate", "sec-fetch-dest", "document"),
			Want: func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},
		{
			Name:    "ForceBrowser in the policy is overridden: Unauthenticated",
			Mirrors: []string{"no credential/ForceBrowser wins over fetch metadata", "ForceBrowser/JSON client without credential"},
			Options: []core.Option{core.ForceBrowser()},
			MD:      md("accept", browserAccept),
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},
		{
			Name:    "ForceBrowser in the policy is overridden: unknown token",
			Mirrors: []string{"ForceBrowser/unknown token"},
			Options: []core.Option{core.ForceBrowser()},
			MD:      mdCred("x-session-token", "force-browser"),
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(nil, whoamiToken(e.Cred("force-browser"))) },
		},
		{
			Name:    "oversized session cookie is no credential (Ory not asked)",
			Mirrors: []string{"oversized session cookie is no credential (Ory not asked)"},
			MD:      md("cookie", kratosCookie+"="+strings.Repeat("a", core.MaxCredentialLength+1)),
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},

		// --- valid credentials ---------------------------------------------
		{
			Name:    "valid cookie ory_kratos_session",
			Mirrors: []string{"valid cookie ory_kratos_session"},
			Setup:   session("cookie", active("s-cookie", "ada@example.com")),
			MD:      mdCookie(kratosCookie, "cookie"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-cookie", "ada@example.com", whoamiCookie(kratosCookie+"="+e.Cred("cookie")))
			},
		},
		{
			Name:    "valid cookie ory_session_<slug>",
			Mirrors: []string{"valid cookie ory_session_<slug>"},
			Setup:   session("network", active("s-network", "bo@example.com")),
			MD:      mdCookie(networkCookie, "network"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-network", "bo@example.com", whoamiCookie(networkCookie+"="+e.Cred("network")))
			},
		},
		{
			Name:    "valid x-session-token",
			Mirrors: []string{"valid X-Session-Token"},
			Setup:   session("token", active("s-token", "cy@example.com")),
			MD:      mdCred("x-session-token", "token"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-token", "cy@example.com", whoamiToken(e.Cred("token")))
			},
		},
		{
			Name:    "valid authorization Bearer",
			Mirrors: []string{"valid Authorization Bearer"},
			Setup:   session("bearer", active("s-bearer", "di@example.com")),
			MD:      func(e *caseEnv) []string { return []string{"authorization", "Bearer " + e.Cred("bearer")} },
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-bearer", "di@example.com", whoamiToken(e.Cred("bearer")))
			},
		},
		{
			Name:    "extra app cookies and metadata never reach Ory",
			Mirrors: []string{"extra app cookies never reach Ory"},
			Setup:   session("extra", active("s-extra", "ed@example.com")),
			MD: func(e *caseEnv) []string {
				return []string{"cookie", "theme=dark; " + kratosCookie + "=" + e.Cred("extra") + "; csrf_token_8a1b=Zm9vYmFy; _ga=GA1.2.1234.5678",
					"x-api-key", "app-secret", "x-forwarded-for", "10.0.0.1"}
			},
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-extra", "ed@example.com", whoamiCookie(kratosCookie+"="+e.Cred("extra")))
			},
		},
		{
			Name:    "session cookie in a second cookie field",
			Mirrors: []string{"session cookie in a second Cookie header"},
			Setup:   session("second", active("s-second", "fa@example.com")),
			MD: func(e *caseEnv) []string {
				return []string{"cookie", "theme=dark", "cookie", kratosCookie + "=" + e.Cred("second")}
			},
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-second", "fa@example.com", whoamiCookie(kratosCookie+"="+e.Cred("second")))
			},
		},
		{
			Name:    "duplicate session cookies all reach Ory, which chooses",
			Mirrors: []string{"duplicate session cookies all reach Ory, which chooses"},
			Setup:   session("dup-first", active("s-first", "dup@example.com")),
			MD: func(e *caseEnv) []string {
				return []string{"cookie", kratosCookie + "=" + e.Cred("dup-first") + "; " + kratosCookie + "=" + e.Cred("dup-stale")}
			},
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-first", "dup@example.com", whoamiCookie(kratosCookie+"="+e.Cred("dup-first")+"; "+kratosCookie+"="+e.Cred("dup-stale")))
			},
		},
		{
			Name:    "set-cookie from whoami is passed on (session cookies only)",
			Mirrors: []string{"Set-Cookie from whoami is passed on (session cookies only)"},
			Setup: func(e *caseEnv) {
				replySession(e, "extend", active("s-extend", "gu@example.com"), http.Header{"Set-Cookie": {
					extendedCookie(e), "tracking=1; Path=/",
				}})
			},
			MD: mdCookie(kratosCookie, "extend"),
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcAllowed("s-extend", "gu@example.com", whoamiCookie(kratosCookie+"="+e.Cred("extend")))
				o.SetCookie = []string{extendedCookie(e)}
				return o
			},
		},
		{
			Name:    "same credential twice (whoami calls depend on the cache)",
			Mirrors: []string{"same credential twice (whoami calls depend on the cache)"},
			Setup: func(e *caseEnv) {
				replySession(e, "twice", active("s-twice", "ha@example.com"), http.Header{"Set-Cookie": {extendedCookie(e)}})
			},
			MD:     mdCookie(kratosCookie, "twice"),
			Repeat: 2,
			Want: func(e *caseEnv) RPCOutcome {
				call := whoamiCookie(kratosCookie + "=" + e.Cred("twice"))
				o := rpcAllowed("s-twice", "ha@example.com", call, call)
				o.HandlerRuns = 2
				o.SetCookie = []string{extendedCookie(e)}
				if e.Cache {
					o.Ory = o.Ory[:1]
					o.SetCookie = nil
				}
				return o
			},
		},

		// --- sessions Ory does not count as active --------------------------
		{
			Name:    "unknown cookie (Ory 401)",
			Mirrors: []string{"unknown cookie (Ory 401)/browser"},
			MD:      mdCookie(kratosCookie, "unknown"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcNoSession(loginAt(e, "return_to", "/"), whoamiCookie(kratosCookie+"="+e.Cred("unknown")))
			},
		},
		{
			Name:    "unknown token (Ory 401): no login URL for a token client",
			Mirrors: []string{"unknown token (Ory 401)/API"},
			MD:      mdCred("x-session-token", "unknown"),
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(nil, whoamiToken(e.Cred("unknown"))) },
		},
		{
			Name:    "inactive session (cookie)",
			Mirrors: []string{"inactive session/browser"},
			Setup:   session("inactive", modified(active("s-inactive", "ia@example.com"), func(s *client.Session) { s.Active = ptr(false) })),
			MD:      mdCookie(kratosCookie, "inactive"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcNoSession(loginAt(e, "return_to", "/"), whoamiCookie(kratosCookie+"="+e.Cred("inactive")))
			},
		},
		{
			Name:    "inactive session (token)",
			Mirrors: []string{"inactive session/API"},
			Setup:   session("inactive-api", modified(active("s-inactive", "ia@example.com"), func(s *client.Session) { s.Active = ptr(false) })),
			MD:      mdCred("x-session-token", "inactive-api"),
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(nil, whoamiToken(e.Cred("inactive-api"))) },
		},
		{
			Name:    "expired session (cookie)",
			Mirrors: []string{"expired session/browser"},
			Setup: session("expired", modified(active("s-expired", "ex@example.com"), func(s *client.Session) {
				s.ExpiresAt = ptr(time.Now().Add(-time.Minute))
			})),
			MD: mdCookie(kratosCookie, "expired"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcNoSession(loginAt(e, "return_to", "/"), whoamiCookie(kratosCookie+"="+e.Cred("expired")))
			},
		},
		{
			Name:    "expired session (Bearer)",
			Mirrors: []string{"expired session/API"},
			Setup: session("expired-api", modified(active("s-expired", "ex@example.com"), func(s *client.Session) {
				s.ExpiresAt = ptr(time.Now().Add(-time.Minute))
			})),
			MD:   func(e *caseEnv) []string { return []string{"authorization", "Bearer " + e.Cred("expired-api")} },
			Want: func(e *caseEnv) RPCOutcome { return rpcNoSession(nil, whoamiToken(e.Cred("expired-api"))) },
		},
		{
			Name:    "identity not active",
			Mirrors: []string{"identity not active/API"},
			Setup: session("banned", modified(active("s-banned", "ba@example.com"), func(s *client.Session) {
				s.Identity.State = ptr("inactive")
			})),
			MD:   mdCred("x-session-token", "banned"),
			Want: func(e *caseEnv) RPCOutcome { return rpcNoSession(nil, whoamiToken(e.Cred("banned"))) },
		},

		// --- step-up ----------------------------------------------------------
		{
			Name:    "Ory requires AAL2 (403 session_aal2_required), cookie",
			Mirrors: []string{"Ory requires AAL2 (403 session_aal2_required)/browser"},
			Config:  allowCustomDomain,
			Setup:   aal2FromOry("aal2"),
			MD:      mdCookie(kratosCookie, "aal2"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrAAL2Required, customLogin(e), whoamiCookie(kratosCookie+"="+e.Cred("aal2")))
			},
		},
		{
			Name:    "Ory requires AAL2 (403 session_aal2_required), token",
			Mirrors: []string{"Ory requires AAL2 (403 session_aal2_required)/API"},
			Config:  allowCustomDomain,
			Setup:   aal2FromOry("aal2-api"),
			MD:      mdCred("x-session-token", "aal2-api"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrAAL2Required, customLogin(e), whoamiToken(e.Cred("aal2-api")))
			},
		},
		{
			Name:    "Ory requires AAL2, redirect_browser_to on an unknown origin: the guard's flow URL",
			Mirrors: []string{"Ory requires AAL2, redirect_browser_to on an unknown origin: the guard's flow URL"},
			Setup:   aal2FromOry("aal2-foreign"),
			MD:      mdCookie(kratosCookie, "aal2-foreign"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrAAL2Required, loginAt(e, "aal", "aal2", "return_to", "/"),
					whoamiCookie(kratosCookie+"="+e.Cred("aal2-foreign")))
			},
		},

		// --- route policies -------------------------------------------------
		{
			Name:    "Optional/with session",
			Mirrors: []string{"Optional/with session"},
			Options: []core.Option{core.Optional()},
			Setup:   session("optional", active("s-optional", "op@example.com")),
			MD:      mdCookie(kratosCookie, "optional"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-optional", "op@example.com", whoamiCookie(kratosCookie+"="+e.Cred("optional")))
			},
		},
		{
			Name:    "Optional/without credential",
			Mirrors: []string{"Optional/without credential"},
			Options: []core.Option{core.Optional()},
			Want:    func(e *caseEnv) RPCOutcome { return rpcAnonymous(why("ErrNoSession", true)) },
		},
		{
			Name:    "Optional/unknown cookie",
			Mirrors: []string{"Optional/unknown cookie"},
			Options: []core.Option{core.Optional()},
			MD:      mdCookie(kratosCookie, "optional-unknown"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAnonymous(why("ErrNoSession", true), whoamiCookie(kratosCookie+"="+e.Cred("optional-unknown")))
			},
		},
		{
			Name:    "Optional/Ory failing (500)",
			Mirrors: []string{"Optional/Ory failing (500)"},
			Options: []core.Option{core.Optional()},
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}),
			MD:      mdCookie(kratosCookie, "optional-500"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAnonymous(why("ErrOryUnavailable", true), whoamiCookie(kratosCookie+"="+e.Cred("optional-500")))
			},
		},
		{
			Name:    "Optional/Ory rate-limiting (429)",
			Mirrors: []string{"Optional/Ory rate-limiting (429)"},
			Options: []core.Option{core.Optional()},
			Setup:   replyAll(rateLimited()),
			MD:      mdCookie(kratosCookie, "optional-429"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAnonymous(why("ErrRateLimited", true), whoamiCookie(kratosCookie+"="+e.Cred("optional-429")))
			},
		},
		{
			Name:    "Optional/Ory timeout: SessionError says so",
			Mirrors: []string{"Optional/Ory timeout: SessionError says so"},
			Options: []core.Option{core.Optional()},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Timeout = 200 * time.Millisecond },
			Setup:   replyAll(orytest.Reply{Hang: true}),
			MD:      mdCred("x-session-token", "optional-hang"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAnonymous(why("ErrOryTimeout", true), whoamiToken(e.Cred("optional-hang")))
			},
		},
		{
			Name:    "RequireAAL2/aal1 session, cookie",
			Mirrors: []string{"RequireAAL2/aal1 session/browser"},
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("aal1", active("s-aal1", "al@example.com")),
			MD:      mdCookie(kratosCookie, "aal1"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrAAL2Required, loginAt(e, "aal", "aal2", "return_to", "/"),
					whoamiCookie(kratosCookie+"="+e.Cred("aal1")))
			},
		},
		{
			Name:    "RequireAAL2/aal1 session, token",
			Mirrors: []string{"RequireAAL2/aal1 session/API"},
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("aal1-api", active("s-aal1", "al@example.com")),
			MD:      mdCred("x-session-token", "aal1-api"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrAAL2Required, loginAt(e, "aal", "aal2", "return_to", "/"),
					whoamiToken(e.Cred("aal1-api")))
			},
		},
		{
			Name:    "RequireAAL2/aal2 session",
			Mirrors: []string{"RequireAAL2/aal2 session"},
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("aal2-ok", aal2(active("s-aal2", "mf@example.com"))),
			MD:      mdCookie(kratosCookie, "aal2-ok"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-aal2", "mf@example.com", whoamiCookie(kratosCookie+"="+e.Cred("aal2-ok")))
			},
		},
		{
			Name:    "RequireAAL2/cached aal1 session after a step-up in Ory",
			Mirrors: []string{"RequireAAL2/cached aal1 session after a step-up in Ory"},
			Options: []core.Option{core.RequireAAL2()},
			Before: []rpcBefore{{
				Setup: session("stepped-up", active("s-stepped", "su@example.com")),
				MD:    mdCred("x-session-token", "stepped-up"),
				Then:  session("stepped-up", aal2(active("s-stepped", "su@example.com"))),
			}},
			MD: mdCred("x-session-token", "stepped-up"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-stepped", "su@example.com", whoamiToken(e.Cred("stepped-up")), whoamiToken(e.Cred("stepped-up")))
			},
		},
		{
			Name:    "MaxAuthAge/old authentication, cookie",
			Mirrors: []string{"MaxAuthAge/old authentication/browser"},
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("old", authenticatedAgo(active("s-old", "ol@example.com"), 2*time.Hour)),
			MD:      mdCookie(kratosCookie, "old"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrRefreshRequired, loginAt(e, "refresh", "true", "return_to", "/"),
					whoamiCookie(kratosCookie+"="+e.Cred("old")))
			},
		},
		{
			Name:    "MaxAuthAge/old authentication, token",
			Mirrors: []string{"MaxAuthAge/old authentication/API"},
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("old-api", authenticatedAgo(active("s-old", "ol@example.com"), 2*time.Hour)),
			MD:      mdCred("x-session-token", "old-api"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrRefreshRequired, loginAt(e, "refresh", "true", "return_to", "/"),
					whoamiToken(e.Cred("old-api")))
			},
		},
		{
			Name:    "MaxAuthAge/recent authentication",
			Mirrors: []string{"MaxAuthAge/recent authentication"},
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("recent", active("s-recent", "re@example.com")),
			MD:      mdCookie(kratosCookie, "recent"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-recent", "re@example.com", whoamiCookie(kratosCookie+"="+e.Cred("recent")))
			},
		},
		{
			Name:    "RequireAAL2 and MaxAuthAge/aal1 and old",
			Mirrors: []string{"RequireAAL2 and MaxAuthAge/aal1 and old"},
			Options: []core.Option{core.RequireAAL2(), core.MaxAuthAge(time.Hour)},
			Setup:   session("both", authenticatedAgo(active("s-both", "bt@example.com"), 2*time.Hour)),
			MD:      mdCookie(kratosCookie, "both"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrAAL2Required, loginAt(e, "aal", "aal2", "refresh", "true", "return_to", "/"),
					whoamiCookie(kratosCookie+"="+e.Cred("both")))
			},
		},

		// --- Ory failing: never Unauthenticated -----------------------------
		{
			Name:    "Ory 429 with Retry-After, cookie",
			Mirrors: []string{"Ory 429 with Retry-After/browser"},
			Setup:   replyAll(rateLimited()),
			MD:      mdCookie(kratosCookie, "limited"),
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcDenied(core.RPCResourceExhausted, core.ErrRateLimited, nil, whoamiCookie(kratosCookie+"="+e.Cred("limited")))
				o.RetryDelay = 7 * time.Second
				return o
			},
		},
		{
			Name:    "Ory 429 with Retry-After, token",
			Mirrors: []string{"Ory 429 with Retry-After/API"},
			Setup:   replyAll(rateLimited()),
			MD:      mdCred("x-session-token", "limited-api"),
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcDenied(core.RPCResourceExhausted, core.ErrRateLimited, nil, whoamiToken(e.Cred("limited-api")))
				o.RetryDelay = 7 * time.Second
				return o
			},
		},
		{
			Name:    "Ory 500, cookie",
			Mirrors: []string{"Ory 500/browser"},
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500,"status":"Internal Server Error"}}`)}),
			MD:      mdCookie(kratosCookie, "ory500"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCUnavailable, core.ErrOryUnavailable, nil, whoamiCookie(kratosCookie+"="+e.Cred("ory500")))
			},
		},
		{
			Name:    "Ory 500, token",
			Mirrors: []string{"Ory 500/API"},
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500,"status":"Internal Server Error"}}`)}),
			MD:      mdCred("x-session-token", "ory500-api"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCUnavailable, core.ErrOryUnavailable, nil, whoamiToken(e.Cred("ory500-api")))
			},
		},
		{
			Name:    "Ory unreachable (closed port)",
			Mirrors: []string{"Ory unreachable (closed port)"},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.OryURL = e.ClosedURL },
			MD:      mdCookie(kratosCookie, "unreachable"),
			Want:    func(e *caseEnv) RPCOutcome { return rpcDenied(core.RPCUnavailable, core.ErrOryUnavailable, nil) },
		},
		{
			Name:    "Ory timeout (fake hangs, guard Timeout 200ms)",
			Mirrors: []string{"Ory timeout (fake hangs, guard Timeout 200ms)"},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Timeout = 200 * time.Millisecond },
			Setup:   replyAll(orytest.Reply{Hang: true}),
			MD:      mdCred("x-session-token", "hang"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCDeadlineExceeded, core.ErrOryTimeout, nil, whoamiToken(e.Cred("hang")))
			},
		},
		{
			Name:    "Ory answer cut short",
			Mirrors: []string{"Ory answer cut short"},
			Setup: func(e *caseEnv) {
				replySessionWith(e, "truncated", active("s-truncated", "tr@example.com"), orytest.Reply{Truncate: true})
			},
			MD: mdCookie(kratosCookie, "truncated"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCUnavailable, core.ErrOryUnavailable, nil, whoamiCookie(kratosCookie+"="+e.Cred("truncated")))
			},
		},
		{
			Name:    "garbage 200 body",
			Mirrors: []string{"garbage 200 body"},
			Setup:   replyAll(orytest.Reply{Body: []byte("<html>maintenance</html>")}),
			MD:      mdCookie(kratosCookie, "garbage"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCUnavailable, core.ErrOryUnavailable, nil, whoamiCookie(kratosCookie+"="+e.Cred("garbage")))
			},
		},
		{
			Name:    "200 JSON that is not a session",
			Mirrors: []string{"200 JSON that is not a session"},
			Setup:   replyAll(orytest.Reply{Body: []byte(`{"status":"ok"}`)}),
			MD:      mdCred("x-session-token", "not-a-session"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCUnavailable, core.ErrOryUnavailable, nil, whoamiToken(e.Cred("not-a-session")))
			},
		},

		// --- planted cookies never veto a session Kratos would accept -------
		{
			Name:    "planted/empty session cookie after the real one",
			Mirrors: []string{"planted/empty session cookie after the real one"},
			Setup:   session("planted-empty", active("s-planted", "pl@example.com")),
			MD: func(e *caseEnv) []string {
				return []string{"cookie", kratosCookie + "=" + e.Cred("planted-empty") + "; " + kratosCookie + "="}
			},
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-planted", "pl@example.com", whoamiCookie(kratosCookie+"="+e.Cred("planted-empty")))
			},
		},
		{
			Name:    "planted/five ory_session_* cookies next to the real one",
			Mirrors: []string{"planted/five ory_session_* cookies next to the real one"},
			Setup:   session("planted-five", active("s-planted", "pl@example.com")),
			MD: func(e *caseEnv) []string {
				return []string{"cookie", fiveCookies + "; " + kratosCookie + "=" + e.Cred("planted-five")}
			},
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-planted", "pl@example.com", whoamiCookie(fiveCookies+"; "+kratosCookie+"="+e.Cred("planted-five")))
			},
		},
		{
			Name:    "planted/oversized session cookie before the real one",
			Mirrors: []string{"planted/oversized session cookie before the real one"},
			Setup:   session("planted-big", active("s-planted", "pl@example.com")),
			MD: func(e *caseEnv) []string {
				return []string{"cookie", kratosCookie + "=" + strings.Repeat("a", core.MaxCredentialLength+1) + "; " + kratosCookie + "=" + e.Cred("planted-big")}
			},
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-planted", "pl@example.com", whoamiCookie(kratosCookie+"="+e.Cred("planted-big")))
			},
		},
		{
			// A tab: gRPC's client refuses it in metadata; Connect's carries it.
			Name:      "control byte in the session cookie: Unauthenticated, not Unavailable",
			Mirrors:   []string{"logout/control byte in the session cookie: no session, not a 502"},
			MD:        md("cookie", kratosCookie+"=a\tb"),
			MayRefuse: true,
			Want:      func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},
	}
}

// rpcDenialCases: the ErrorHandler gets every denial with what a renderer
// needs; public methods; app checks.
func rpcDenialCases() []rpcCase {
	check := core.Check(RequireVerifiedEmail)
	return []rpcCase{
		{
			Name:    "ErrorHandler/ErrNoSession: no credential",
			Mirrors: []string{"ErrorHandler/ErrNoSession: no credential, browser"},
			Errors:  ErrorsPage,
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrNoSession", 401, true, loginAt(e, "return_to", "/")))
			},
		},
		{
			Name:    "ErrorHandler/ErrNoSession: unknown token",
			Mirrors: []string{"ErrorHandler/ErrNoSession: unknown token, API"},
			Errors:  ErrorsPage,
			MD:      mdCred("x-session-token", "eh-unknown"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrNoSession", 401, true, nil), whoamiToken(e.Cred("eh-unknown")))
			},
		},
		{
			Name:    "ErrorHandler/ErrNoSession: expired session, cookie",
			Mirrors: []string{"ErrorHandler/ErrNoSession: expired session, browser"},
			Errors:  ErrorsPage,
			Setup: session("eh-expired", modified(active("s-expired", "ex@example.com"), func(s *client.Session) {
				s.ExpiresAt = ptr(time.Now().Add(-time.Minute))
			})),
			MD: mdCookie(kratosCookie, "eh-expired"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrNoSession", 401, true, loginAt(e, "return_to", "/")), whoamiCookie(kratosCookie+"="+e.Cred("eh-expired")))
			},
		},
		{
			Name:    "ErrorHandler/ErrAAL2Required: Ory's 403, cookie",
			Mirrors: []string{"ErrorHandler/ErrAAL2Required: Ory's 403, browser"},
			Errors:  ErrorsPage,
			Config:  allowCustomDomain,
			Setup:   aal2FromOry("eh-aal2"),
			MD:      mdCookie(kratosCookie, "eh-aal2"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrAAL2Required", 403, true, customLogin(e)), whoamiCookie(kratosCookie+"="+e.Cred("eh-aal2")))
			},
		},
		{
			Name:    "ErrorHandler/ErrAAL2Required: RequireAAL2",
			Mirrors: []string{"ErrorHandler/ErrAAL2Required: RequireAAL2, API"},
			Errors:  ErrorsPage,
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("eh-aal1", active("s-aal1", "al@example.com")),
			MD:      mdCred("x-session-token", "eh-aal1"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrAAL2Required", 403, true, loginAt(e, "aal", "aal2", "return_to", "/")), whoamiToken(e.Cred("eh-aal1")))
			},
		},
		{
			Name:    "ErrorHandler/ErrRefreshRequired: MaxAuthAge",
			Mirrors: []string{"ErrorHandler/ErrRefreshRequired: MaxAuthAge, browser"},
			Errors:  ErrorsPage,
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("eh-old", authenticatedAgo(active("s-old", "ol@example.com"), 2*time.Hour)),
			MD:      mdCookie(kratosCookie, "eh-old"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrRefreshRequired", 403, true, loginAt(e, "refresh", "true", "return_to", "/")),
					whoamiCookie(kratosCookie+"="+e.Cred("eh-old")))
			},
		},
		{
			Name:    "ErrorHandler/ErrForbidden: Ory's other 403",
			Mirrors: []string{"ErrorHandler/ErrForbidden: Ory's other 403, API"},
			Errors:  ErrorsPage,
			Setup: func(e *caseEnv) {
				e.Ory.Reply(e.Cred("eh-refused"), orytest.Reply{Status: 403, Body: []byte(`{"error":{"code":403,"id":"security_identity_mismatch"}}`)})
			},
			MD: mdCred("x-session-token", "eh-refused"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrForbidden", 403, true, nil), whoamiToken(e.Cred("eh-refused")))
			},
		},
		{
			Name:    "ErrForbidden: Ory's other 403, default answer",
			Mirrors: []string{"ErrorHandler/ErrForbidden: Ory's other 403, API"},
			Setup: func(e *caseEnv) {
				e.Ory.Reply(e.Cred("refused"), orytest.Reply{Status: 403, Body: []byte(`{"error":{"code":403,"id":"security_identity_mismatch"}}`)})
			},
			MD: mdCred("x-session-token", "refused"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrForbidden, nil, whoamiToken(e.Cred("refused")))
			},
		},
		{
			Name:    "ErrorHandler/ErrRateLimited: Ory 429, Retry-After",
			Mirrors: []string{"ErrorHandler/ErrRateLimited: Ory 429, Retry-After"},
			Errors:  ErrorsPage,
			Setup:   replyAll(rateLimited()),
			MD:      mdCookie(kratosCookie, "eh-limited"),
			Want: func(e *caseEnv) RPCOutcome {
				d := denial("ErrRateLimited", 429, true, nil)
				d.RetryAfter = 7
				return rpcCustom(d, whoamiCookie(kratosCookie+"="+e.Cred("eh-limited")))
			},
		},
		{
			Name:    "ErrorHandler/ErrOryUnavailable: Ory 500",
			Mirrors: []string{"ErrorHandler/ErrOryUnavailable: Ory 500, API"},
			Errors:  ErrorsPage,
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}),
			MD:      mdCred("x-session-token", "eh-500"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrOryUnavailable", 502, true, nil), whoamiToken(e.Cred("eh-500")))
			},
		},
		{
			Name:    "ErrorHandler/ErrOryUnavailable: Ory unreachable",
			Mirrors: []string{"ErrorHandler/ErrOryUnavailable: Ory unreachable"},
			Errors:  ErrorsPage,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.OryURL = e.ClosedURL },
			MD:      mdCookie(kratosCookie, "eh-unreachable"),
			Want:    func(e *caseEnv) RPCOutcome { return rpcCustom(denial("ErrOryUnavailable", 502, true, nil)) },
		},
		{
			Name:    "ErrorHandler/ErrOryTimeout",
			Mirrors: []string{"ErrorHandler/ErrOryTimeout"},
			Errors:  ErrorsPage,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Timeout = 200 * time.Millisecond },
			Setup:   replyAll(orytest.Reply{Hang: true}),
			MD:      mdCred("x-session-token", "eh-hang"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrOryTimeout", 504, true, nil), whoamiToken(e.Cred("eh-hang")))
			},
		},
		{
			Name:    "ErrorHandler/ErrBusy: lookup limit full",
			Mirrors: []string{"ErrorHandler/ErrBusy: lookup limit full"},
			Errors:  ErrorsPage,
			Unary:   true,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.MaxConcurrentLookups = 1 },
			Hold:    "eh-held",
			MD:      mdCred("x-session-token", "eh-busy"),
			Want: func(e *caseEnv) RPCOutcome {
				d := denial("ErrBusy", 503, true, nil)
				d.RetryAfter = 1
				return rpcCustom(d, whoamiToken(e.Cred("eh-held")))
			},
		},
		{
			Name:    "default answer/lookup limit full: Unavailable with retry info",
			Mirrors: []string{"default answer/lookup limit full"},
			Unary:   true,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.MaxConcurrentLookups = 1 },
			Hold:    "default-held",
			MD:      mdCred("x-session-token", "default-busy"),
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcDenied(core.RPCUnavailable, core.ErrBusy, nil, whoamiToken(e.Cred("default-held")))
				o.RetryDelay = time.Second
				return o
			},
		},
		{
			Name:    "ErrorHandler/not called for an allowed call",
			Mirrors: []string{"ErrorHandler/not called for an allowed request"},
			Errors:  ErrorsPage,
			Setup:   session("eh-ok", active("s-ok", "ok@example.com")),
			MD:      mdCookie(kratosCookie, "eh-ok"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-ok", "ok@example.com", whoamiCookie(kratosCookie+"="+e.Cred("eh-ok")))
			},
		},
		{
			Name:    "default answer/an error of the app's own is Internal",
			Mirrors: []string{"default answer/an error of the app's own is a plain 500"},
			Errors:  errorsAppError,
			Want:    func(*caseEnv) RPCOutcome { return RPCOutcome{Code: "Internal", Message: "internal error"} },
		},
		{
			Name:    "default answer/a nil *core.Denial is Internal",
			Mirrors: []string{"default answer/a nil *core.Denial is a plain 500"},
			Errors:  errorsNilDenial,
			Want:    func(*caseEnv) RPCOutcome { return RPCOutcome{Code: "Internal", Message: "internal error"} },
		},
		{
			Name:   "ErrorHandler returning nil still denies, with the standard status",
			Errors: errorsNil,
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcNoSession(loginAt(e, "return_to", "/"))
				o.Errors = []Seen{denial("ErrNoSession", 401, true, loginAt(e, "return_to", "/"))}
				return o
			},
		},
		{
			Name:   "ErrorHandler/the app chooses the status",
			Errors: errorsCustom,
			Want: func(e *caseEnv) RPCOutcome {
				return RPCOutcome{Code: "NotFound", Message: "no such thing", Errors: []Seen{denial("ErrNoSession", 401, true, loginAt(e, "return_to", "/"))}}
			},
		},
		{
			Name:   "ErrorHandler/the app wraps DefaultErrorHandler for the rest",
			Errors: errorsCustom,
			Setup:  replyAll(rateLimited()),
			MD:     mdCred("x-session-token", "custom-limited"),
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcDenied(core.RPCResourceExhausted, core.ErrRateLimited, nil, whoamiToken(e.Cred("custom-limited")))
				o.RetryDelay = 7 * time.Second
				d := denial("ErrRateLimited", 429, true, nil)
				d.RetryAfter = 7
				o.Errors = []Seen{d}
				return o
			},
		},

		// --- public methods (the HTTP adapters' Skip) -----------------------
		{
			Name:    "Public/unchecked, no session, Ory not asked",
			Mirrors: []string{"Skip/skipped path: unchecked, no session, Ory not asked", "Skip/skipped path without a credential"},
			Method:  RPCUnary,
			Policy:  func() RPCConfig { return RPCConfig{Public: []string{RPCUnary}} },
			Errors:  ErrorsPage,
			Setup:   session("public", active("s-public", "pu@example.com")),
			MD:      mdCookie(kratosCookie, "public"),
			Want:    func(e *caseEnv) RPCOutcome { return rpcAnonymous(&Seen{Reason: "ErrNoSession"}) },
		},
		{
			Name:    "Public/the other methods are checked",
			Mirrors: []string{"Skip/other paths are checked"},
			Method:  RPCStream,
			Policy:  func() RPCConfig { return RPCConfig{Public: []string{RPCUnary}} },
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},
		{
			Name:    "Optional/with session: SessionError is nil",
			Mirrors: []string{"Optional/with session: SessionError is nil"},
			Method:  RPCUnary,
			Policy:  func() RPCConfig { return RPCConfig{Optional: []string{RPCUnary}} },
			Errors:  ErrorsPage,
			Setup:   session("optional-nil", active("s-optional", "op@example.com")),
			MD:      mdCred("x-session-token", "optional-nil"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-optional", "op@example.com", whoamiToken(e.Cred("optional-nil")))
			},
		},

		// --- app checks (core.Check) ---------------------------------------------
		{
			Name:    "Check/passes: verified email",
			Mirrors: []string{"Check/passes: verified email"},
			Options: []core.Option{check},
			Setup:   session("check-ok", verified(active("s-verified", "ve@example.com"))),
			MD:      mdCookie(kratosCookie, "check-ok"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcAllowed("s-verified", "ve@example.com", whoamiCookie(kratosCookie+"="+e.Cred("check-ok")))
			},
		},
		{
			Name:    "Check/fails: PermissionDenied, the app's error not in the status",
			Mirrors: []string{"Check/fails: default answer, browser", "Check/fails: default answer, API"},
			Options: []core.Option{check},
			Setup:   session("check-api", unverified(active("s-unverified", "un@example.com"))),
			MD:      mdCred("x-session-token", "check-api"),
			Want: func(e *caseEnv) RPCOutcome {
				return rpcDenied(core.RPCPermissionDenied, core.ErrForbidden, nil, whoamiToken(e.Cred("check-api")))
			},
		},
		{
			Name:    "Check/fails: the ErrorHandler gets ErrForbidden and the app's error",
			Mirrors: []string{"Check/fails: the ErrorHandler gets ErrForbidden and the app's error"},
			Options: []core.Option{check},
			Errors:  ErrorsPage,
			Setup:   session("check-page", unverified(active("s-unverified", "un@example.com"))),
			MD:      mdCookie(kratosCookie, "check-page"),
			Want: func(e *caseEnv) RPCOutcome {
				d := denial("ErrForbidden", 403, true, nil)
				d.AppError = true
				return rpcCustom(d, whoamiCookie(kratosCookie+"="+e.Cred("check-page")))
			},
		},
		{
			Name:    "Check/not run without a session",
			Mirrors: []string{"Check/not run without a session"},
			Options: []core.Option{check},
			Errors:  ErrorsPage,
			Want: func(e *caseEnv) RPCOutcome {
				return rpcCustom(denial("ErrNoSession", 401, true, loginAt(e, "return_to", "/")))
			},
		},
		{
			Name:    "Check/fails on an optional method: runs without a session",
			Mirrors: []string{"Check/fails on an optional route: runs without a session"},
			Options: []core.Option{core.Optional(), check},
			Setup:   session("check-optional", unverified(active("s-unverified", "un@example.com"))),
			MD:      mdCookie(kratosCookie, "check-optional"),
			Want: func(e *caseEnv) RPCOutcome {
				s := why("ErrForbidden", true)
				s.AppError = true
				return rpcAnonymous(s, whoamiCookie(kratosCookie+"="+e.Cred("check-optional")))
			},
		},
	}
}

// messageValue is the object of the suite's permission checks: the
// request message's one string (a wrapperspb.StringValue, or any message
// with GetValue).
func messageValue(m interface{ GetValue() string }) string { return m.GetValue() }

// permitDoc is a permission check on documents:<the message's value>#view.
func permitDoc() core.Option {
	return core.Permit("documents", "view", core.MessageObject(messageValue))
}

// rpcPermitCases: a permission check (core.Permit) whose object a unary
// method takes from its request message (core.MessageObject), answered as
// status codes.
func rpcPermitCases() []rpcCase {
	const subject = "identity-s-perm"
	perm := func(cred string) func(*caseEnv) { return session(cred, active("s-perm", "pe@example.com")) }
	permDenied := func(ory ...orytest.Recorded) RPCOutcome {
		return RPCOutcome{Code: "PermissionDenied", Message: core.ErrPermissionDenied.Error(),
			Reason: "PERMISSION_DENIED", Domain: "oryguard", Ory: ory}
	}
	// ketoFailed is the status when Keto fails a check of doc-1 for the
	// session of cred; asked: the check reached Keto.
	ketoFailed := func(e *caseEnv, cred string, code core.RPCCode, sentinel error, reason string, asked bool) RPCOutcome {
		o := RPCOutcome{Code: code.String(), Message: sentinel.Error(), Reason: reason, Domain: "oryguard",
			Ory: []orytest.Recorded{whoamiToken(e.Cred(cred))}}
		if asked {
			o.Keto = []string{"documents:doc-1#view@" + subject}
		}
		return o
	}
	return []rpcCase{
		{
			Name:    "Permit/allowed: the handler runs with the session",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-ok"),
			Keto:    func(k *orytest.Keto) { k.Allow("documents", "doc-1", "view", subject) },
			MD:      mdCred("x-session-token", "perm-ok"),
			Object:  "doc-1",
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcAllowed("s-perm", "pe@example.com", whoamiToken(e.Cred("perm-ok")))
				o.Keto = []string{"documents:doc-1#view@" + subject}
				return o
			},
		},
		{
			Name:    "Permit/the object is the message's string exactly",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-exact"),
			Keto:    func(k *orytest.Keto) { k.Allow("documents", "a/../b#c@d:e%2F", "view", subject) },
			MD:      mdCred("x-session-token", "perm-exact"),
			Object:  "a/../b#c@d:e%2F",
			Want: func(e *caseEnv) RPCOutcome {
				o := rpcAllowed("s-perm", "pe@example.com", whoamiToken(e.Cred("perm-exact")))
				o.Keto = []string{"documents:a/../b#c@d:e%2F#view@" + subject}
				return o
			},
		},
		{
			Name:    "Permit/denied: PermissionDenied",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-denied"),
			MD:      mdCred("x-session-token", "perm-denied"),
			Object:  "doc-2",
			Want: func(e *caseEnv) RPCOutcome {
				o := permDenied(whoamiToken(e.Cred("perm-denied")))
				o.Keto = []string{"documents:doc-2#view@" + subject}
				return o
			},
		},
		{
			Name:    "Permit/empty object: PermissionDenied, Keto not asked",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-empty"),
			MD:      mdCred("x-session-token", "perm-empty"),
			Want:    func(e *caseEnv) RPCOutcome { return permDenied(whoamiToken(e.Cred("perm-empty"))) },
		},
		{
			Name:    "Permit/on a stream the message is not read: PermissionDenied, Keto not asked",
			Method:  RPCStream,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-stream"),
			Keto:    func(k *orytest.Keto) { k.Allow("documents", "doc-3", "view", subject) },
			MD:      mdCred("x-session-token", "perm-stream"),
			Object:  "doc-3",
			Want:    func(e *caseEnv) RPCOutcome { return permDenied(whoamiToken(e.Cred("perm-stream"))) },
		},
		{
			Name:    "Permit/no session: Unauthenticated, Keto not asked",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Object:  "doc-1",
			Want:    func(e *caseEnv) RPCOutcome { return rpcNoSession(loginAt(e, "return_to", "/")) },
		},
		{
			Name:    "Permit/optional method, anonymous: the handler runs, Keto not asked",
			Unary:   true,
			Options: []core.Option{core.Optional(), permitDoc()},
			Object:  "doc-1",
			Want:    func(e *caseEnv) RPCOutcome { return rpcAnonymous(why("ErrNoSession", true)) },
		},
		{
			Name:    "Permit/Keto 500: Unavailable",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-500"),
			Keto:    func(k *orytest.Keto) { k.ReplyAll(&orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}) },
			MD:      mdCred("x-session-token", "perm-500"),
			Object:  "doc-1",
			Want: func(e *caseEnv) RPCOutcome {
				return ketoFailed(e, "perm-500", core.RPCUnavailable, core.ErrPermissionsUnavailable, "PERMISSIONS_UNAVAILABLE", true)
			},
		},
		{
			Name:    "Permit/Keto unreachable: Unavailable",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Permissions.URL = e.ClosedURL },
			Setup:   perm("perm-down"),
			MD:      mdCred("x-session-token", "perm-down"),
			Object:  "doc-1",
			Want: func(e *caseEnv) RPCOutcome {
				return ketoFailed(e, "perm-down", core.RPCUnavailable, core.ErrPermissionsUnavailable, "PERMISSIONS_UNAVAILABLE", false)
			},
		},
		{
			Name:    "Permit/Keto timeout: DeadlineExceeded",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Permissions.Timeout = 200 * time.Millisecond },
			Setup:   perm("perm-hang"),
			Keto:    func(k *orytest.Keto) { k.ReplyAll(&orytest.Reply{Hang: true}) },
			MD:      mdCred("x-session-token", "perm-hang"),
			Object:  "doc-1",
			Want: func(e *caseEnv) RPCOutcome {
				return ketoFailed(e, "perm-hang", core.RPCDeadlineExceeded, core.ErrOryTimeout, "ORY_TIMEOUT", true)
			},
		},
		{
			Name:    "Permit/Keto 429: ResourceExhausted with retry info",
			Unary:   true,
			Options: []core.Option{permitDoc()},
			Setup:   perm("perm-429"),
			Keto: func(k *orytest.Keto) {
				k.ReplyAll(&orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: []byte(`{"error":{"code":429}}`)})
			},
			MD:     mdCred("x-session-token", "perm-429"),
			Object: "doc-1",
			Want: func(e *caseEnv) RPCOutcome {
				o := ketoFailed(e, "perm-429", core.RPCResourceExhausted, core.ErrRateLimited, "RATE_LIMITED", true)
				o.RetryDelay = 7 * time.Second
				return o
			},
		},
	}
}

// rpcHostileCases are the hostile credential headers of the hostile-input
// suite (hostileHeaders) as metadata: Unauthenticated, the handler never
// runs and Ory is never asked. gRPC's client refuses bytes that no
// metadata value may hold, and a server may refuse a header list that
// large (MayRefuse).
func rpcHostileCases() []rpcCase {
	const ck = kratosCookie + "="
	login := func(e *caseEnv) *Location { return loginAt(e, "return_to", "/") }
	none := func(*caseEnv) *Location { return nil }
	rows := []struct {
		name    string
		md      []string
		refuse  bool
		loc     func(*caseEnv) *Location
		comment string
	}{
		{name: "oversized session cookie", md: []string{"cookie", ck + strings.Repeat("a", core.MaxCredentialLength+1)}, loc: login},
		{name: "NUL in the session cookie", md: []string{"cookie", ck + "a\x00b"}, refuse: true, loc: login},
		{name: "invalid UTF-8 in the session cookie", md: []string{"cookie", ck + "abc\xff\xfe"}, refuse: true, loc: login},
		{name: "control byte in a session cookie name", md: []string{"cookie", "ory_session_a\x01b=value"}, refuse: true, loc: login},
		{name: "oversized session token", md: []string{"x-session-token", strings.Repeat("t", 8<<10)}, loc: none},
		{name: "space in the session token", md: []string{"x-session-token", "a b"}, loc: none},
		{name: "invalid UTF-8 in a Bearer token", md: []string{"authorization", "Bearer \xc3\x28"}, refuse: true, loc: none},
		{name: "Basic authorization", md: []string{"authorization", "Basic Z29vZDpnb29k"}, loc: login},
		{name: "2 MiB cookie", md: []string{"cookie", "big=" + strings.Repeat("a", 2<<20)}, refuse: true, loc: login},
		{name: "planted login-loop marker on a fetch", md: []string{"cookie", "oryguard_login_loop=9999999999.AAAAAAAAAAAAAAAAAAAAAA",
			"sec-fetch-mode", "cors", "sec-fetch-site", "cross-site"}, loc: login},
		{name: "planted login-loop markers", md: []string{"cookie", "__Host-oryguard_login_loop=garbage; oryguard_login_loop=garbage"}, loc: login},
	}
	out := make([]rpcCase, 0, len(rows))
	for _, r := range rows {
		out = append(out, rpcCase{
			Name:      "hostile/" + r.name,
			MD:        md(r.md...),
			MayRefuse: r.refuse,
			Plain:     true,
			Want:      func(e *caseEnv) RPCOutcome { return rpcNoSession(r.loc(e)) },
		})
	}
	return out
}

// --- metadata -------------------------------------------------------------------

const fiveCookies = "ory_session_a=1; ory_session_b=1; ory_session_c=1; ory_session_d=1; ory_session_e=1"

// md is fixed metadata, name / value pairs.
func md(kv ...string) func(*caseEnv) []string {
	return func(*caseEnv) []string { return kv }
}

// mdCred is metadata name set to the run's credential cred.
func mdCred(name, cred string) func(*caseEnv) []string {
	return func(e *caseEnv) []string { return []string{name, e.Cred(cred)} }
}

// mdCookie is a cookie field carrying the run's credential cred as cookie
// name.
func mdCookie(name, cred string) func(*caseEnv) []string {
	return func(e *caseEnv) []string { return []string{"cookie", name + "=" + e.Cred(cred)} }
}

func aal2(s client.Session) client.Session {
	return modified(s, func(s *client.Session) {
		s.AuthenticatorAssuranceLevel = ptr(client.AUTHENTICATORASSURANCELEVEL_AAL2)
	})
}

// customLogin is the step-up flow on Ory's custom domain (aal2FromOry's
// redirect_browser_to) returning to the app's root.
func customLogin(e *caseEnv) *Location {
	loc := loginAt(e, "aal", "aal2", "return_to", "/")
	loc.Scheme, loc.Host = "https", customDomain
	return loc
}

// --- expectations -------------------------------------------------------------

// rpcAllowed is the handler running with session id.
func rpcAllowed(id, email string, ory ...orytest.Recorded) RPCOutcome {
	return RPCOutcome{
		Code: "OK", Body: "protected handler ran with session " + id + "\n",
		HandlerRuns: 1, SessionID: id, Email: email, ContextSessionID: id, Ory: ory,
	}
}

// rpcAnonymous is the handler running without a session; sessionErr is
// what SessionError returned.
func rpcAnonymous(sessionErr *Seen, ory ...orytest.Recorded) RPCOutcome {
	return RPCOutcome{Code: "OK", Body: "protected handler ran without a session\n", HandlerRuns: 1, SessionError: sessionErr, Ory: ory}
}

// rpcReasons are the ErrorInfo reasons of the sentinels, spelled out.
var rpcReasons = map[error]string{
	core.ErrNoSession:       "NO_SESSION",
	core.ErrAAL2Required:    "AAL2_REQUIRED",
	core.ErrRefreshRequired: "REFRESH_REQUIRED",
	core.ErrForbidden:       "FORBIDDEN",
	core.ErrRateLimited:     "RATE_LIMITED",
	core.ErrOryUnavailable:  "ORY_UNAVAILABLE",
	core.ErrOryTimeout:      "ORY_TIMEOUT",
	core.ErrBusy:            "BUSY",
}

// rpcDenied is the standard status of a denial for sentinel: its code,
// its text, ErrorInfo with its reason code and redirect.
func rpcDenied(code core.RPCCode, sentinel error, redirect *Location, ory ...orytest.Recorded) RPCOutcome {
	return RPCOutcome{
		Code: code.String(), Message: sentinel.Error(),
		Reason: rpcReasons[sentinel], Domain: "oryguard",
		Redirect: redirect, Ory: ory,
	}
}

func rpcNoSession(redirect *Location, ory ...orytest.Recorded) RPCOutcome {
	return rpcDenied(core.RPCUnauthenticated, core.ErrNoSession, redirect, ory...)
}

// rpcCustom is the suite's ErrorHandler's status for the denial it got.
func rpcCustom(d Seen, ory ...orytest.Recorded) RPCOutcome {
	return RPCOutcome{Code: "FailedPrecondition", Message: "custom: " + d.Reason, Errors: []Seen{d}, Ory: ory}
}
