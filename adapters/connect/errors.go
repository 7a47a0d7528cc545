package oryconnect

import (
	"context"
	"errors"
	"strconv"

	"connectrpc.com/connect"
	"github.com/oryguard/oryguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Error is the standard Connect error of a denial, as core.RPCStatusOf
// describes it: the code of its reason (see the package documentation),
// wrapping its sentinel (whose text is the message), with an
// errdetails.ErrorInfo detail (core.RPCErrorDomain, the denial's core.ReasonCode,
// core.RPCMetadataRedirect when the denial has a Location) and an
// errdetails.RetryInfo detail and Retry-After metadata when it has a
// Retry-After. An app-defined Check's error is never put in it. Any error
// that is not a *core.Denial is CodeInternal.
func Error(err error) *connect.Error {
	rs := core.RPCStatusOf(err)
	var d *core.Denial
	if rs.Reason == "" || !errors.As(err, &d) {
		return connect.NewError(connect.Code(rs.Code), errors.New(rs.Message))
	}
	ce := connect.NewError(connect.Code(rs.Code), d.Reason)
	info := &errdetails.ErrorInfo{Reason: string(rs.Reason), Domain: core.RPCErrorDomain, Metadata: rs.Metadata}
	if det, derr := connect.NewErrorDetail(info); derr == nil {
		ce.AddDetail(det)
	}
	if rs.RetryDelay > 0 {
		if det, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(rs.RetryDelay)}); derr == nil {
			ce.AddDetail(det)
		}
		ce.Meta().Set("Retry-After", strconv.Itoa(int(rs.RetryDelay.Seconds())))
	}
	return ce
}

// DefaultErrorHandler is Error(err): the standard Connect error of a
// denial. Wrap it to answer some denials yourself and leave the rest to it.
func DefaultErrorHandler(_ context.Context, _ string, err error) error {
	return Error(err)
}
