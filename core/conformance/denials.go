package conformance

import (
	"context"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// reasonCheck is the guard's text for a failed app check.
const reasonCheck = "The session does not meet this route's requirements."

// RequireVerifiedEmail is the suite's app check (core.Check): the session's
// identity must have a verified email address; otherwise it returns
// ErrAppCheck.
func RequireVerifiedEmail(_ context.Context, s *client.Session) error {
	if s.Identity != nil {
		for _, a := range s.Identity.VerifiableAddresses {
			if a.Via == "email" && a.Verified {
				return nil
			}
		}
	}
	return ErrAppCheck
}

func verified(s client.Session) client.Session {
	return modified(s, func(s *client.Session) {
		s.Identity.VerifiableAddresses = []client.VerifiableIdentityAddress{{
			Value: Email(s), Via: "email", Status: "completed", Verified: true,
		}}
	})
}

func unverified(s client.Session) client.Session {
	return modified(s, func(s *client.Session) {
		s.Identity.VerifiableAddresses = []client.VerifiableIdentityAddress{{
			Value: Email(s), Via: "email", Status: "sent", Verified: false,
		}}
	})
}

func isHealth(path string) bool { return path == "/health" }

// denialCases: every sentinel reaching the config form's ErrorHandler with
// what a renderer needs, the default handler's answers, skipping, app
// checks, and errors returned to the framework.
func denialCases() []tableCase {
	check := core.Check(RequireVerifiedEmail)
	return []tableCase{
		// --- each sentinel reaches the ErrorHandler --------------------------
		{
			Name:    "ErrorHandler/ErrNoSession: no credential, browser",
			Errors:  ErrorsPage,
			Request: get("/dashboard?tab=1", browser),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrNoSession", 303, false, loginAt(e, "return_to", "/dashboard?tab=1")))
			},
		},
		{
			Name:    "ErrorHandler/ErrNoSession: unknown token, API",
			Errors:  ErrorsPage,
			Request: get("/api/me", header("X-Session-Token", "eh-unknown")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrNoSession", 401, true, nil), whoamiToken(e.Cred("eh-unknown")))
			},
		},
		{
			Name:   "ErrorHandler/ErrNoSession: expired session, browser",
			Errors: ErrorsPage,
			Setup: session("eh-expired", modified(active("s-expired", "ex@example.com"), func(s *client.Session) {
				s.ExpiresAt = ptr(time.Now().Add(-time.Minute))
			})),
			Request: get("/dashboard", browser, cookie(kratosCookie, "eh-expired")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrNoSession", 303, false, loginAt(e, "return_to", "/dashboard")),
					whoamiCookie(kratosCookie+"="+e.Cred("eh-expired")))
			},
		},
		{
			Name:    "ErrorHandler/ErrAAL2Required: Ory's 403, browser",
			Errors:  ErrorsPage,
			Config:  allowCustomDomain,
			Setup:   aal2FromOry("eh-aal2"),
			Request: get("/dashboard", browser, cookie(kratosCookie, "eh-aal2")),
			Want: func(e *caseEnv) Outcome {
				loc := loginAt(e, "aal", "aal2", "return_to", "/dashboard")
				loc.Scheme, loc.Host = "https", customDomain
				return custom(denial("ErrAAL2Required", 303, false, loc), whoamiCookie(kratosCookie+"="+e.Cred("eh-aal2")))
			},
		},
		{
			Name:    "ErrorHandler/ErrAAL2Required: RequireAAL2, API",
			Errors:  ErrorsPage,
			Options: []core.Option{core.RequireAAL2()},
			Setup:   session("eh-aal1", active("s-aal1", "al@example.com")),
			Request: get("/api/admin", header("X-Session-Token", "eh-aal1")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrAAL2Required", 403, true, loginAt(e, "aal", "aal2", "return_to", "/api/admin")),
					whoamiToken(e.Cred("eh-aal1")))
			},
		},
		{
			Name:    "ErrorHandler/ErrRefreshRequired: MaxAuthAge, browser",
			Errors:  ErrorsPage,
			Options: []core.Option{core.MaxAuthAge(time.Hour)},
			Setup:   session("eh-old", authenticatedAgo(active("s-old", "ol@example.com"), 2*time.Hour)),
			Request: get("/settings", browser, cookie(kratosCookie, "eh-old")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrRefreshRequired", 303, false, loginAt(e, "refresh", "true", "return_to", "/settings")),
					whoamiCookie(kratosCookie+"="+e.Cred("eh-old")))
			},
		},
		{
			Name:   "ErrorHandler/ErrForbidden: Ory's other 403, API",
			Errors: ErrorsPage,
			Setup: func(e *caseEnv) {
				e.Ory.Reply(e.Cred("eh-refused"), orytest.Reply{Status: 403, Body: []byte(`{"error":{"code":403,"id":"security_identity_mismatch"}}`)})
			},
			Request: get("/api/me", header("X-Session-Token", "eh-refused")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrForbidden", 403, true, nil), whoamiToken(e.Cred("eh-refused")))
			},
		},
		{
			Name:    "ErrorHandler/ErrRateLimited: Ory 429, Retry-After",
			Errors:  ErrorsPage,
			Setup:   replyAll(rateLimited()),
			Request: get("/dashboard", browser, cookie(kratosCookie, "eh-limited")),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrRateLimited", 429, false, nil)
				d.RetryAfter = 7
				return custom(d, whoamiCookie(kratosCookie+"="+e.Cred("eh-limited")))
			},
		},
		{
			Name:    "ErrorHandler/ErrOryUnavailable: Ory 500, API",
			Errors:  ErrorsPage,
			Setup:   replyAll(orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}),
			Request: get("/api/me", header("X-Session-Token", "eh-500")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrOryUnavailable", 502, true, nil), whoamiToken(e.Cred("eh-500")))
			},
		},
		{
			Name:    "ErrorHandler/ErrOryUnavailable: Ory unreachable",
			Errors:  ErrorsPage,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.OryURL = e.ClosedURL },
			Request: get("/dashboard", browser, cookie(kratosCookie, "eh-unreachable")),
			Want:    func(e *caseEnv) Outcome { return custom(denial("ErrOryUnavailable", 502, false, nil)) },
		},
		{
			Name:    "ErrorHandler/ErrOryTimeout",
			Errors:  ErrorsPage,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Timeout = 200 * time.Millisecond },
			Setup:   replyAll(orytest.Reply{Hang: true}),
			Request: get("/api/me", header("X-Session-Token", "eh-hang")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrOryTimeout", 504, true, nil), whoamiToken(e.Cred("eh-hang")))
			},
		},
		{
			Name:    "ErrorHandler/ErrBusy: lookup limit full",
			Errors:  ErrorsPage,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.MaxConcurrentLookups = 1 },
			Hold:    "eh-held",
			Request: get("/api/me", header("X-Session-Token", "eh-busy")),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrBusy", 503, true, nil)
				d.RetryAfter = 1
				return custom(d, whoamiToken(e.Cred("eh-held")))
			},
		},
		{
			Name:    "ErrorHandler/not called for an allowed request",
			Errors:  ErrorsPage,
			Setup:   session("eh-ok", active("s-ok", "ok@example.com")),
			Request: get("/dashboard", browser, cookie(kratosCookie, "eh-ok")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-ok", "ok@example.com", whoamiCookie(kratosCookie+"="+e.Cred("eh-ok")))
			},
		},
		{
			Name:    "default answer/lookup limit full",
			Errors:  ErrorsDefault,
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.MaxConcurrentLookups = 1 },
			Hold:    "default-held",
			Request: get("/api/me", header("X-Session-Token", "default-busy")),
			Want: func(e *caseEnv) Outcome {
				o := apiError(503, "", reasonBusy, "").with(whoamiToken(e.Cred("default-held")))
				o.RetryAfter = "1"
				return o
			},
		},
		{
			Name:    "default answer/an error of the app's own is a plain 500",
			Errors:  errorsAppError,
			Request: get("/dashboard", browser),
			Want:    func(*caseEnv) Outcome { return internalError() },
		},
		{
			Name:    "default answer/a nil *core.Denial is a plain 500",
			Errors:  errorsNilDenial,
			Request: get("/api/me", acceptJSON),
			Want:    func(*caseEnv) Outcome { return internalError() },
		},

		// --- errors returned to the framework (Echo, Fiber) --------------------
		{
			Name:    "ErrorHandler returns the error/the framework's handler runs once, browser",
			Errors:  ErrorsReturn,
			Request: get("/dashboard", browser),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrNoSession", 303, false, loginAt(e, "return_to", "/dashboard"))
				return Outcome{Status: 303, Body: "framework: 303 ErrNoSession\n", ContentType: PageContentType,
					Errors: []Seen{d}, FrameworkErrors: []Seen{d}}
			},
		},
		{
			Name:    "ErrorHandler returns the error/the framework's handler runs once, Ory 429",
			Errors:  ErrorsReturn,
			Setup:   replyAll(rateLimited()),
			Request: get("/api/me", header("X-Session-Token", "return-limited")),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrRateLimited", 429, true, nil)
				d.RetryAfter = 7
				return Outcome{Status: 429, Body: "framework: 429 ErrRateLimited\n", ContentType: PageContentType,
					Errors: []Seen{d}, FrameworkErrors: []Seen{d}, Ory: []orytest.Recorded{whoamiToken(e.Cred("return-limited"))}}
			},
		},

		// --- skip -----------------------------------------------------------------
		{
			Name:    "Skip/skipped path: unchecked, no session, Ory not asked",
			Skip:    isHealth,
			Errors:  ErrorsPage,
			Setup:   session("skip", active("s-skip", "sk@example.com")),
			Request: get("/health", browser, cookie(kratosCookie, "skip")),
			Want:    func(e *caseEnv) Outcome { return anonymous(&Seen{Reason: "ErrNoSession"}) },
		},
		{
			Name:    "Skip/skipped path without a credential",
			Skip:    isHealth,
			Request: get("/health", acceptJSON),
			Want:    func(e *caseEnv) Outcome { return anonymous(&Seen{Reason: "ErrNoSession"}) },
		},
		{
			Name:    "Skip/other paths are checked",
			Skip:    isHealth,
			Request: get("/healthz", browser),
			Want:    func(e *caseEnv) Outcome { return toLogin(e, "return_to", "/healthz") },
		},

		// --- app checks (core.Check) ---------------------------------------------
		{
			Name:    "Check/passes: verified email",
			Options: []core.Option{check},
			Setup:   session("check-ok", verified(active("s-verified", "ve@example.com"))),
			Request: get("/verified", browser, cookie(kratosCookie, "check-ok")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-verified", "ve@example.com", whoamiCookie(kratosCookie+"="+e.Cred("check-ok")))
			},
		},
		{
			Name:    "Check/fails: default answer, browser",
			Options: []core.Option{check},
			Setup:   session("check-browser", unverified(active("s-unverified", "un@example.com"))),
			Request: get("/verified", browser, cookie(kratosCookie, "check-browser")),
			Want: func(e *caseEnv) Outcome {
				return browserError(403, reasonCheck).with(whoamiCookie(kratosCookie + "=" + e.Cred("check-browser")))
			},
		},
		{
			Name:    "Check/fails: default answer, API",
			Options: []core.Option{check},
			Setup:   session("check-api", unverified(active("s-unverified", "un@example.com"))),
			Request: get("/api/verified", header("X-Session-Token", "check-api")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "", reasonCheck, "").with(whoamiToken(e.Cred("check-api")))
			},
		},
		{
			Name:    "Check/fails: the ErrorHandler gets ErrForbidden and the app's error",
			Options: []core.Option{check},
			Errors:  ErrorsPage,
			Setup:   session("check-page", unverified(active("s-unverified", "un@example.com"))),
			Request: get("/verified", browser, cookie(kratosCookie, "check-page")),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrForbidden", 403, false, nil)
				d.AppError = true
				return custom(d, whoamiCookie(kratosCookie+"="+e.Cred("check-page")))
			},
		},
		{
			Name:    "Check/not run without a session",
			Options: []core.Option{check},
			Errors:  ErrorsPage,
			Request: get("/verified", browser),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrNoSession", 303, false, loginAt(e, "return_to", "/verified")))
			},
		},
		{
			Name:    "Check/fails on an optional route: runs without a session",
			Options: []core.Option{core.Optional(), check},
			Setup:   session("check-optional", unverified(active("s-unverified", "un@example.com"))),
			Request: get("/home", browser, cookie(kratosCookie, "check-optional")),
			Want: func(e *caseEnv) Outcome {
				s := why("ErrForbidden", false)
				s.AppError = true
				return anonymous(s, whoamiCookie(kratosCookie+"="+e.Cred("check-optional")))
			},
		},

		// --- optional routes: why there is no session ------------------------------
		{
			Name:    "Optional/Ory timeout: SessionError says so",
			Options: []core.Option{core.Optional()},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Timeout = 200 * time.Millisecond },
			Setup:   replyAll(orytest.Reply{Hang: true}),
			Request: get("/home", header("X-Session-Token", "optional-hang")),
			Want: func(e *caseEnv) Outcome {
				return anonymous(why("ErrOryTimeout", true), whoamiToken(e.Cred("optional-hang")))
			},
		},
		{
			Name:    "Optional/with session: SessionError is nil",
			Options: []core.Option{core.Optional()},
			Errors:  ErrorsPage,
			Setup:   session("optional-nil", active("s-optional", "op@example.com")),
			Request: get("/home", header("X-Session-Token", "optional-nil")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-optional", "op@example.com", whoamiToken(e.Cred("optional-nil")))
			},
		},
	}
}
