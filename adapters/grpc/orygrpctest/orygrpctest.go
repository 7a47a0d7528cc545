// Package orygrpctest mounts orygrpc for the RPC side of oryguard's
// conformance suite (core/conformance), which checks every API-client
// answer the HTTP adapters give, as status codes:
//
//	func TestConformance(t *testing.T) { conformance.RunRPC(t, orygrpctest.Target{}) }
//
// It serves the suite's two methods with a hand-written grpc.ServiceDesc
// (no generated code) over a real gRPC server on a loopback port.
package orygrpctest

import (
	"context"
	"net"
	"testing"

	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Target mounts orygrpc for core/conformance.RunRPC: unary and stream
// interceptors on a grpc.Server listening on 127.0.0.1, called through a
// plaintext grpc.ClientConn.
type Target struct{}

var _ conformance.RPCDirectTarget = Target{}

// Name implements conformance.RPCTarget.
func (Target) Name() string { return "grpc" }

// Config is the orygrpc.Config of cfg; its ErrorHandler carries out the
// suite's RPCPage.
func Config(cfg conformance.RPCConfig) orygrpc.Config {
	gc := orygrpc.Config{Options: cfg.Options, Methods: cfg.Methods, Optional: cfg.Optional, Public: cfg.Public}
	if cfg.ErrorHandler != nil {
		gc.ErrorHandler = func(ctx context.Context, method string, err error) error {
			page := cfg.ErrorHandler(method, err)
			switch {
			case page.Default:
				return orygrpc.DefaultErrorHandler(ctx, method, page.Err)
			case page.Nil:
				return nil
			}
			return status.Error(codes.Code(page.Code), page.Message)
		}
	}
	return gc
}

// Serve implements conformance.RPCTarget.
func (Target) Serve(t *testing.T, guard *core.Guard, cfg conformance.RPCConfig, probe *conformance.Probe) conformance.RPCClient {
	t.Helper()
	ic, err := orygrpc.New(guard, Config(cfg))
	if err != nil {
		t.Fatalf("orygrpc.New: %v", err)
	}
	srv := grpc.NewServer(ic.ServerOptions()...)
	Register(srv, probe)
	if err := ic.Validate(srv); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func(ctx context.Context, c conformance.RPCCall) conformance.RPCResult {
		return Call(ctx, conn, c)
	}
}

// Call makes c on conn and reports what the client got.
func Call(ctx context.Context, conn grpc.ClientConnInterface, c conformance.RPCCall) conformance.RPCResult {
	ctx = metadata.AppendToOutgoingContext(ctx, c.Metadata...)
	var hdr metadata.MD
	out := new(wrapperspb.StringValue)
	var err error
	if c.Method == conformance.RPCStream {
		err = stream(ctx, conn, c.Object, out, &hdr)
	} else {
		err = conn.Invoke(ctx, c.Method, wrapperspb.String(c.Object), out, grpc.Header(&hdr))
	}
	return result(err, out, hdr)
}

// CallDirect implements conformance.RPCDirectTarget: c goes through the
// unary interceptor in process, as incoming metadata.
func (Target) CallDirect(ctx context.Context, guard *core.Guard, cfg conformance.RPCConfig, probe *conformance.Probe, c conformance.RPCCall) conformance.RPCResult {
	ic, err := orygrpc.New(guard, Config(cfg))
	if err != nil {
		return conformance.RPCResult{Code: "Internal", Message: err.Error()}
	}
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(c.Metadata...))
	res, err := ic.Unary()(ctx, wrapperspb.String(c.Object), &grpc.UnaryServerInfo{FullMethod: conformance.RPCUnary},
		func(ctx context.Context, _ any) (any, error) { return observe(ctx, probe), nil })
	out, _ := res.(*wrapperspb.StringValue)
	return result(err, out, nil)
}

// result is what a client got: err's status and details, or out.
func result(err error, out *wrapperspb.StringValue, hdr metadata.MD) conformance.RPCResult {
	st := status.Convert(err)
	res := conformance.RPCResult{Code: core.RPCCode(st.Code()).String(), SetCookie: hdr.Get("set-cookie")}
	if err == nil {
		res.Body = out.GetValue()
		return res
	}
	res.Message = st.Message()
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			res.Reason, res.Domain, res.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
		case *errdetails.RetryInfo:
			res.RetryDelay = d.GetRetryDelay().AsDuration()
		}
	}
	return res
}

// stream opens the server stream, sends object and reads the first
// message into out.
func stream(ctx context.Context, conn grpc.ClientConnInterface, object string, out *wrapperspb.StringValue, hdr *metadata.MD) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := conn.NewStream(ctx, &serviceDesc.Streams[0], conformance.RPCStream)
	if err != nil {
		return err
	}
	defer func() { *hdr, _ = s.Header() }()
	if err := s.SendMsg(wrapperspb.String(object)); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(out)
}

// Register registers the suite's service on srv: its handlers report to
// probe what the interceptor put in their context.
func Register(srv *grpc.Server, probe *conformance.Probe) {
	srv.RegisterService(&serviceDesc, probe)
}

// serviceDesc is the suite's service (conformance.RPCUnary and
// RPCStream), with wrapperspb.StringValue as request and response.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: "oryguard.conformance.v1.Probe",
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: unary}},
	Streams:     []grpc.StreamDesc{{StreamName: "Stream", Handler: serverStream, ServerStreams: true}},
}

func observe(ctx context.Context, probe *conformance.Probe) *wrapperspb.StringValue {
	return wrapperspb.String(string(probe.Observe(
		conformance.Read(orygrpc.Session(ctx)), conformance.Read(core.SessionFromContext(ctx)), orygrpc.SessionError(ctx))))
}

func unary(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	h := func(ctx context.Context, _ any) (any, error) { return observe(ctx, srv.(*conformance.Probe)), nil }
	if interceptor == nil {
		return h(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: conformance.RPCUnary}, h)
}

func serverStream(srv any, s grpc.ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := s.RecvMsg(in); err != nil {
		return err
	}
	return s.SendMsg(observe(s.Context(), srv.(*conformance.Probe)))
}
