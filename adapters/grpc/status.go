package orygrpc

import (
	"context"

	"github.com/oryguard/oryguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Status is the standard gRPC status of a denial, as core.RPCStatusOf
// describes it: the code of its reason (see the package documentation),
// its sentinel's text as the message, an errdetails.ErrorInfo (domain
// core.RPCErrorDomain, the denial's core.ReasonCode, and the flow URL
// under core.RPCMetadataRedirect when the denial has a Location) and an
// errdetails.RetryInfo when it has a Retry-After. An app-defined Check's
// error is never put in the status. Any error that is not a *core.Denial
// is Internal.
func Status(err error) *status.Status {
	rs := core.RPCStatusOf(err)
	st := status.New(codes.Code(rs.Code), rs.Message)
	if rs.Reason == "" {
		return st
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: string(rs.Reason), Domain: core.RPCErrorDomain, Metadata: rs.Metadata}}
	if rs.RetryDelay > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(rs.RetryDelay)})
	}
	if withDetails, werr := st.WithDetails(details...); werr == nil {
		return withDetails
	}
	return st
}

// DefaultErrorHandler is Status(err).Err(): the standard status of a
// denial. Wrap it to answer some denials yourself and leave the rest to it.
func DefaultErrorHandler(_ context.Context, _ string, err error) error {
	return Status(err).Err()
}
