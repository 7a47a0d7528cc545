package core

import "errors"

// Sentinel errors name every reason the guard denies a request. A denial
// reaches an adapter's ErrorHandler as a *Denial that unwraps (errors.Is) to
// exactly one of them.
var (
	// ErrInvalidConfig wraps every error New returns for a bad Config.
	ErrInvalidConfig = errors.New("oryguard: invalid configuration")

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
)
