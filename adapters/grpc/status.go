package orygrpc

import (
	"context"
	"errors"
	"time"

	"github.com/oryguard/oryguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the domain of the errdetails.ErrorInfo every denial carries.
const Domain = "oryguard"

// The reasons in a denial's errdetails.ErrorInfo, one per core sentinel.
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

// statusRows maps core's sentinels to codes, in the order Status tests them.
var statusRows = [...]struct {
	err    error
	code   codes.Code
	reason string
}{
	{core.ErrNoSession, codes.Unauthenticated, ReasonNoSession},
	{core.ErrAAL2Required, codes.PermissionDenied, ReasonAAL2Required},
	{core.ErrRefreshRequired, codes.PermissionDenied, ReasonRefreshRequired},
	{core.ErrForbidden, codes.PermissionDenied, ReasonForbidden},
	{core.ErrRateLimited, codes.ResourceExhausted, ReasonRateLimited},
	{core.ErrOryUnavailable, codes.Unavailable, ReasonOryUnavailable},
	{core.ErrOryTimeout, codes.DeadlineExceeded, ReasonOryTimeout},
	{core.ErrBusy, codes.Unavailable, ReasonBusy},
}

// Status is the standard gRPC status of a denial: the code of its reason
// (see the package documentation), its sentinel's text as the message,
// an errdetails.ErrorInfo (Domain, a Reason* constant, MetadataRedirect
// when the denial has a Location) and an errdetails.RetryInfo when it has a
// Retry-After. An app-defined Check's error is never put in the status. Any
// error that is not a *core.Denial is Internal.
func Status(err error) *status.Status {
	var d *core.Denial
	if !errors.As(err, &d) || d == nil || d.Reason == nil {
		return status.New(codes.Internal, "internal error")
	}
	for _, row := range statusRows {
		if !errors.Is(d.Reason, row.err) {
			continue
		}
		info := &errdetails.ErrorInfo{Reason: row.reason, Domain: Domain}
		if d.Location != "" {
			info.Metadata = map[string]string{MetadataRedirect: d.Location}
		}
		st, werr := status.New(row.code, d.Reason.Error()).WithDetails(info)
		if werr != nil {
			return status.New(row.code, d.Reason.Error())
		}
		if d.RetryAfter > 0 {
			retry := &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(d.RetryAfter) * time.Second)}
			if s, werr := st.WithDetails(retry); werr == nil {
				st = s
			}
		}
		return st
	}
	return status.New(codes.Internal, "internal error")
}

// DefaultErrorHandler is Status(err).Err(): the standard status of a
// denial. Wrap it to answer some denials yourself and leave the rest to it.
func DefaultErrorHandler(_ context.Context, _ string, err error) error {
	return Status(err).Err()
}
