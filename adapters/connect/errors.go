package oryconnect

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/oryguard/oryguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the domain of the errdetails.ErrorInfo every denial carries.
const Domain = "oryguard"

// The reasons in a denial's errdetails.ErrorInfo, one per core sentinel
// (the same as orygrpc's).
const (
	ReasonNoSession       = "NO_SESSION"       // core.ErrNoSession
	ReasonAAL2Required    = "AAL2_REQUIRED"    // core.ErrAAL2Required
	ReasonRefreshRequired = "REFRESH_REQUIRED" // core.ErrRefreshRequired
	ReasonForbidden       = "FORBIDDEN"        // core.ErrForbidden
	ReasonRateLimited     = "RATE_LIMITED"     // core.ErrRateLimited
	ReasonOryUnavailable  = "ORY_UNAVAILABLE"  // core.ErrOryUnavailable
	ReasonOryTimeout      = "ORY_TIMEOUT"      // core.ErrOryTimeout
	ReasonBusy            = "BUSY"             // core.ErrBusy
)

// MetadataRedirect is the ErrorInfo metadata key that holds the URL a
// browser opens to do what the reason asks (Ory's step-up or
// re-authentication flow), when there is one.
const MetadataRedirect = "redirect_browser_to"

var errorRows = [...]struct {
	err    error
	code   connect.Code
	reason string
}{
	{core.ErrNoSession, connect.CodeUnauthenticated, ReasonNoSession},
	{core.ErrAAL2Required, connect.CodePermissionDenied, ReasonAAL2Required},
	{core.ErrRefreshRequired, connect.CodePermissionDenied, ReasonRefreshRequired},
	{core.ErrForbidden, connect.CodePermissionDenied, ReasonForbidden},
	{core.ErrRateLimited, connect.CodeResourceExhausted, ReasonRateLimited},
	{core.ErrOryUnavailable, connect.CodeUnavailable, ReasonOryUnavailable},
	{core.ErrOryTimeout, connect.CodeDeadlineExceeded, ReasonOryTimeout},
	{core.ErrBusy, connect.CodeUnavailable, ReasonBusy},
}

// Error is the standard Connect error of a denial: the code of its reason
// (see the package documentation), wrapping its sentinel (whose text is
// the message), with an errdetails.ErrorInfo detail (Domain, a Reason*
// constant, MetadataRedirect when the denial has a Location) and an
// errdetails.RetryInfo detail and Retry-After metadata when it has a
// Retry-After. An app-defined Check's error is never put in it. Any error
// that is not a *core.Denial is CodeInternal.
func Error(err error) *connect.Error {
	var d *core.Denial
	if !errors.As(err, &d) || d == nil || d.Reason == nil {
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	for _, row := range errorRows {
		if !errors.Is(d.Reason, row.err) {
			continue
		}
		ce := connect.NewError(row.code, d.Reason)
		info := &errdetails.ErrorInfo{Reason: row.reason, Domain: Domain}
		if d.Location != "" {
			info.Metadata = map[string]string{MetadataRedirect: d.Location}
		}
		if det, derr := connect.NewErrorDetail(info); derr == nil {
			ce.AddDetail(det)
		}
		if d.RetryAfter > 0 {
			retry := &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(d.RetryAfter) * time.Second)}
			if det, derr := connect.NewErrorDetail(retry); derr == nil {
				ce.AddDetail(det)
			}
			if v := d.Header().Get("Retry-After"); v != "" {
				ce.Meta().Set("Retry-After", v)
			}
		}
		return ce
	}
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// DefaultErrorHandler is Error(err): the standard Connect error of a
// denial. Wrap it to answer some denials yourself and leave the rest to it.
func DefaultErrorHandler(_ context.Context, _ string, err error) error {
	return Error(err)
}
