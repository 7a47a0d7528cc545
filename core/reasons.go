package core

import (
	"errors"
	"net/http"
)

// Sentinel errors name every reason the guard denies a request. A denial
// reaches an adapter's ErrorHandler as a *Denial that unwraps (errors.Is) to
// exactly one of them.
var (
	// ErrNoSession: the request has no usable credential, or Ory does not
	// know it (401), or the session is inactive or expired. LogoutURL also
	// returns it when there is nothing to log out.
	ErrNoSession = errors.New("oryguard: no valid session")

	// ErrAAL2Required: the session must be stepped up with a second factor
	// (Ory's 403 session_aal2_required, or RequireAAL2 on an aal1 session).
	ErrAAL2Required = errors.New("oryguard: second factor required")

	// ErrRefreshRequired: the session was authenticated longer ago than
	// MaxAuthAge allows and must be re-authenticated.
	ErrRefreshRequired = errors.New("oryguard: re-authentication required")

	// ErrForbidden: Ory refused the session with a 403 other than step-up,
	// or an app-defined Check failed.
	ErrForbidden = errors.New("oryguard: session refused")

	// ErrRateLimited: Ory answered 429 and the guard is honouring its
	// Retry-After.
	ErrRateLimited = errors.New("oryguard: Ory is rate-limiting session checks")

	// ErrOryUnavailable: Ory answered 5xx or garbage, or could not be
	// reached.
	ErrOryUnavailable = errors.New("oryguard: Ory is unavailable")

	// ErrOryTimeout: Ory did not answer within Config.Timeout.
	ErrOryTimeout = errors.New("oryguard: Ory did not answer in time")

	// ErrBusy: Config.MaxConcurrentLookups whoami calls are in flight
	// already; the guard did not ask Ory.
	ErrBusy = errors.New("oryguard: too many session checks in flight")

	// ErrPermissionDenied: Ory Permissions (Keto) answered that the
	// session's identity lacks a relation a Permit option requires, or the
	// check's object was empty. It unwraps to ErrForbidden, so a renderer
	// that handles ErrForbidden handles it too.
	ErrPermissionDenied error = &subError{"oryguard: permission denied", ErrForbidden}

	// ErrPermissionsUnavailable: Ory Permissions answered 5xx, an error for
	// one of the checks, a body that is not its JSON or too large, or could
	// not be reached. It unwraps to ErrOryUnavailable.
	ErrPermissionsUnavailable error = &subError{"oryguard: Ory Permissions is unavailable", ErrOryUnavailable}
)

// subError is a sentinel that also unwraps to a broader one, so that
// errors.Is finds both.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string { return e.msg }
func (e *subError) Unwrap() error { return e.parent }

// reason is why a request has a session or has none: how a whoami call
// ended, or what the route's policy found. Every fact the guard attaches to
// a reason is in its row of reasons below; a new reason is a constant here
// and one row there.
//
// The values are logged (ory_result), so they keep their numbers.
type reason uint8

const (
	reasonOryFailed       reason = iota // Ory answered badly or not at all
	reasonSession                       // a usable session
	reasonNoSession                     // no credential, 401, or a session that is not active
	reasonAAL2                          // 403 session_aal2_required, or RequireAAL2 on aal1
	reasonForbidden                     // another 403
	reasonRateLimited                   // 429, or backing off after one
	reasonBusy                          // too many lookups in flight
	reasonTimeout                       // Ory did not answer within the timeout
	reasonCanceled                      // the caller's context ended first
	reasonRefresh                       // MaxAuthAge: authenticated too long ago
	reasonCheck                         // an app-defined Check failed
	reasonPermDenied                    // a Permit check: Keto said no, or the object was empty
	reasonPermFailed                    // a Permit check: Keto answered badly or not at all
	reasonPermTimeout                   // a Permit check: Keto did not answer within its timeout
	reasonPermRateLimited               // a Permit check: Keto answered 429
	reasonPermBusy                      // too many permission checks in flight
	numReasons
)

// flow is where a denial sends the user.
type flow uint8

const (
	flowNone    flow = iota // nowhere: the answer is a status and a text
	flowLogin               // Ory's login flow (browsers; API clients get the status alone)
	flowStepUp              // the login flow with aal=aal2, or Ory's redirect_browser_to
	flowRefresh             // the login flow with refresh=true
	flowOry                 // Ory's redirect_browser_to, when it is on a known origin
)

// reasonRow is everything the guard says about one reason.
type reasonRow struct {
	err     error        // the sentinel a *Denial unwraps to; nil for a session
	outcome Outcome      // what Route.Authenticate reports to an Observer when it denies
	whoami  WhoamiResult // what a whoami call that ended so reports to an Observer
	status  int          // status of the standard answer (a browser sent to a flow gets 303)
	oryID   string       // error.id in the JSON answer, as Ory names it
	text    string       // error.reason in JSON; the body of a browser's answer
	retry   int          // Retry-After seconds when the answer has a fixed one
	flow    flow         // where the user is sent

	// oryAnswered: Ory answered the question about the session, so the
	// answer ends a rate-limit backoff and replaces a cached copy.
	oryAnswered bool
	// oryFailing: Ory is failing, so a stale cached session may be served
	// (StaleIfError). Never the guard's own saturation.
	oryFailing bool
}

// reasons is the one table of reasons, indexed by reason. Columns: err,
// outcome, whoami, status, oryID, text, retry, flow, oryAnswered,
// oryFailing.
var reasons = [numReasons]reasonRow{
	reasonSession:     {outcome: OutcomeAllowed, whoami: WhoamiSession, status: http.StatusOK, oryAnswered: true},
	reasonNoSession:   {ErrNoSession, OutcomeNoSession, WhoamiNoSession, http.StatusUnauthorized, "", "No valid Ory session was found in the request.", 0, flowLogin, true, false},
	reasonAAL2:        {ErrAAL2Required, OutcomeAAL2Required, WhoamiAAL2Required, http.StatusForbidden, "session_aal2_required", "The session must be verified with a second factor.", 0, flowStepUp, true, false},
	reasonRefresh:     {ErrRefreshRequired, OutcomeRefreshRequired, WhoamiSession, http.StatusForbidden, "session_refresh_required", "The session must be re-authenticated.", 0, flowRefresh, false, false},
	reasonForbidden:   {ErrForbidden, OutcomeForbidden, WhoamiForbidden, http.StatusForbidden, "", "Ory refused the session.", 0, flowOry, true, false},
	reasonCheck:       {ErrForbidden, OutcomeForbidden, WhoamiSession, http.StatusForbidden, "", "The session does not meet this route's requirements.", 0, flowNone, false, false},
	reasonRateLimited: {ErrRateLimited, OutcomeRateLimited, WhoamiRateLimited, http.StatusTooManyRequests, "", "Ory is rate-limiting session checks; try again later.", 0, flowNone, false, true},
	reasonOryFailed:   {ErrOryUnavailable, OutcomeOryUnavailable, WhoamiError, http.StatusBadGateway, "", "The session could not be verified because Ory is unavailable.", 0, flowNone, false, true},
	reasonTimeout:     {ErrOryTimeout, OutcomeOryTimeout, WhoamiTimeout, http.StatusGatewayTimeout, "", "The session could not be verified in time.", 0, flowNone, false, true},
	reasonBusy:        {ErrBusy, OutcomeBusy, WhoamiError, http.StatusServiceUnavailable, "", "Too many session checks are in flight; try again shortly.", 1, flowNone, false, false},
	reasonCanceled:    {ErrOryUnavailable, OutcomeOryUnavailable, WhoamiCanceled, http.StatusServiceUnavailable, "", "The session could not be verified because Ory is unavailable.", 0, flowNone, false, false},

	// Permission checks (Permit): none sends anyone to a flow (a login
	// would not change the answer, and Keto failing must not loop users
	// into a login page), none says anything about the session (whoami
	// column unused), and none is an Ory session failure (no stale session
	// is served for them).
	reasonPermDenied:      {ErrPermissionDenied, OutcomeForbidden, WhoamiSession, http.StatusForbidden, "", "You do not have permission to access this resource.", 0, flowNone, false, false},
	reasonPermFailed:      {ErrPermissionsUnavailable, OutcomeOryUnavailable, WhoamiSession, http.StatusBadGateway, "", "Permissions could not be checked because Ory Permissions is unavailable.", 0, flowNone, false, false},
	reasonPermTimeout:     {ErrOryTimeout, OutcomeOryTimeout, WhoamiSession, http.StatusGatewayTimeout, "", "Permissions could not be checked in time.", 0, flowNone, false, false},
	reasonPermRateLimited: {ErrRateLimited, OutcomeRateLimited, WhoamiSession, http.StatusTooManyRequests, "", "Ory Permissions is rate-limiting checks; try again later.", 0, flowNone, false, false},
	reasonPermBusy:        {ErrBusy, OutcomeBusy, WhoamiSession, http.StatusServiceUnavailable, "", "Too many permission checks are in flight; try again shortly.", 1, flowNone, false, false},
}

// outcomeErrs maps each denial Outcome to its sentinel error, from the
// table.
var outcomeErrs = func() (m [NumOutcomes]error) {
	for _, row := range reasons {
		if row.err != nil && m[row.outcome] == nil {
			m[row.outcome] = row.err
		}
	}
	return m
}()
