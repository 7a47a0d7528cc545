// Package oryconnecttest mounts oryconnect for the RPC side of oryguard's
// conformance suite (core/conformance), which checks every API-client
// answer the HTTP adapters give, as status codes:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunRPC(t, oryconnecttest.Targets()...)
//	}
//
// It serves the suite's two methods with connect.NewUnaryHandler and
// connect.NewServerStreamHandler (no generated code) on a real HTTP server
// on a loopback port that speaks HTTP/1.1 and HTTP/2 without TLS (h2c).
package oryconnecttest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Protocol is the RPC protocol a Target's client speaks.
type Protocol string

// The protocols connect-go speaks.
const (
	Connect Protocol = "connect"
	GRPC    Protocol = "grpc"
	GRPCWeb Protocol = "grpc-web"
)

// Target mounts oryconnect for core/conformance.RunRPC: the interceptor on
// a connect handler, called by a connect client speaking Protocol over
// HTTP/2 without TLS (HTTP2) or HTTP/1.1.
type Target struct {
	Protocol Protocol
	HTTP2    bool
}

// Targets are the protocol and HTTP version pairs a browser or a backend
// uses: Connect over HTTP/1.1 and h2c, gRPC-Web over HTTP/1.1, gRPC over
// h2c.
func Targets() []conformance.RPCTarget {
	return []conformance.RPCTarget{
		Target{Connect, false}, Target{Connect, true}, Target{GRPCWeb, false}, Target{GRPC, true},
	}
}

var (
	_ conformance.RPCRawTarget    = Target{}
	_ conformance.RPCDirectTarget = Target{}
)

// Name implements conformance.RPCTarget.
func (t Target) Name() string {
	if t.HTTP2 {
		return "connect(" + string(t.Protocol) + "/h2c)"
	}
	return "connect(" + string(t.Protocol) + "/http1)"
}

// Config is the oryconnect.Config of cfg; its ErrorHandler carries out the
// suite's RPCPage.
func Config(cfg conformance.RPCConfig) oryconnect.Config {
	cc := oryconnect.Config{Options: cfg.Options, Procedures: cfg.Methods, Optional: cfg.Optional, Public: cfg.Public}
	if cfg.ErrorHandler != nil {
		cc.ErrorHandler = func(ctx context.Context, procedure string, err error) error {
			page := cfg.ErrorHandler(procedure, err)
			switch {
			case page.Default:
				return oryconnect.DefaultErrorHandler(ctx, procedure, page.Err)
			case page.Nil:
				return nil
			}
			return connect.NewError(connect.Code(page.Code), errors.New(page.Message))
		}
	}
	return cc
}

// Handler serves the suite's two procedures behind ic: their handlers
// report to probe what the interceptor put in their context.
func Handler(ic *oryconnect.Interceptor, probe *conformance.Probe) http.Handler {
	observe := func(ctx context.Context) *wrapperspb.StringValue {
		return wrapperspb.String(string(probe.Observe(
			conformance.Read(oryconnect.Session(ctx)), conformance.Read(core.SessionFromContext(ctx)), oryconnect.SessionError(ctx))))
	}
	mux := http.NewServeMux()
	mux.Handle(conformance.RPCUnary, connect.NewUnaryHandler(conformance.RPCUnary,
		func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(observe(ctx)), nil
		}, connect.WithInterceptors(ic)))
	mux.Handle(conformance.RPCStream, connect.NewServerStreamHandler(conformance.RPCStream,
		func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue], s *connect.ServerStream[wrapperspb.StringValue]) error {
			return s.Send(observe(ctx))
		}, connect.WithInterceptors(ic)))
	return mux
}

// Serve implements conformance.RPCTarget.
func (tg Target) Serve(t *testing.T, guard *core.Guard, cfg conformance.RPCConfig, probe *conformance.Probe) conformance.RPCClient {
	t.Helper()
	ic, err := oryconnect.New(guard, Config(cfg))
	if err != nil {
		t.Fatalf("oryconnect.New: %v", err)
	}
	if err := ic.Validate(conformance.RPCUnary, conformance.RPCStream); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	srv := httptest.NewUnstartedServer(Handler(ic, probe))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	if tg.HTTP2 {
		tr.Protocols.SetUnencryptedHTTP2(true)
	} else {
		tr.Protocols.SetHTTP1(true)
	}
	t.Cleanup(tr.CloseIdleConnections)
	var opts []connect.ClientOption
	switch tg.Protocol {
	case GRPC:
		opts = append(opts, connect.WithGRPC())
	case GRPCWeb:
		opts = append(opts, connect.WithGRPCWeb())
	}
	hc := &http.Client{Transport: tr}
	unary := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, srv.URL+conformance.RPCUnary, opts...)
	stream := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, srv.URL+conformance.RPCStream, opts...)
	return func(ctx context.Context, c conformance.RPCCall) conformance.RPCResult {
		req := connect.NewRequest(wrapperspb.String(c.Object))
		for i := 0; i+1 < len(c.Metadata); i += 2 {
			req.Header().Add(c.Metadata[i], c.Metadata[i+1])
		}
		if c.Method == conformance.RPCStream {
			return callStream(ctx, stream, req)
		}
		res, err := unary.CallUnary(ctx, req)
		if err != nil {
			return result(err)
		}
		return conformance.RPCResult{Code: "OK", Body: res.Msg.GetValue(), SetCookie: res.Header().Values("Set-Cookie")}
	}
}

// Listen implements conformance.RPCRawTarget: the default policy on
// net/http's server, on a loopback port.
func (Target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	t.Helper()
	ic, err := oryconnect.New(guard, oryconnect.Config{})
	if err != nil {
		t.Fatalf("oryconnect.New: %v", err)
	}
	return conformance.ListenHTTP(t, Handler(ic, probe))
}

// CallDirect implements conformance.RPCDirectTarget: c goes through the
// interceptor's WrapUnary in process, its metadata as request headers.
func (Target) CallDirect(ctx context.Context, guard *core.Guard, cfg conformance.RPCConfig, probe *conformance.Probe, c conformance.RPCCall) conformance.RPCResult {
	ic, err := oryconnect.New(guard, Config(cfg))
	if err != nil {
		return conformance.RPCResult{Code: "Internal", Message: err.Error()}
	}
	req := connect.NewRequest(wrapperspb.String(c.Object))
	for i := 0; i+1 < len(c.Metadata); i += 2 {
		req.Header()[http.CanonicalHeaderKey(c.Metadata[i])] = append(req.Header()[http.CanonicalHeaderKey(c.Metadata[i])], c.Metadata[i+1])
	}
	next := func(ctx context.Context, _ connect.AnyRequest) (connect.AnyResponse, error) {
		return connect.NewResponse(wrapperspb.String(string(probe.Observe(
			conformance.Read(oryconnect.Session(ctx)), conformance.Read(core.SessionFromContext(ctx)), oryconnect.SessionError(ctx))))), nil
	}
	res, err := ic.WrapUnary(next)(ctx, serverRequest{req})
	if err != nil {
		return result(err)
	}
	out, _ := res.Any().(*wrapperspb.StringValue)
	return conformance.RPCResult{Code: "OK", Body: out.GetValue(), SetCookie: res.Header().Values("Set-Cookie")}
}

// serverRequest is a request as a handler receives it, for RPCUnary.
type serverRequest struct {
	*connect.Request[wrapperspb.StringValue]
}

func (serverRequest) Spec() connect.Spec {
	return connect.Spec{Procedure: conformance.RPCUnary, StreamType: connect.StreamTypeUnary}
}

// callStream opens the server stream and reads its first message.
func callStream(ctx context.Context, c *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue], req *connect.Request[wrapperspb.StringValue]) conformance.RPCResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.CallServerStream(ctx, req)
	if err != nil {
		return result(err)
	}
	defer s.Close()
	if !s.Receive() {
		err := s.Err()
		if err == nil {
			err = connect.NewError(connect.CodeUnknown, errors.New("stream ended without a message"))
		}
		return result(err)
	}
	return conformance.RPCResult{Code: "OK", Body: s.Msg().GetValue(), SetCookie: s.ResponseHeader().Values("Set-Cookie")}
}

// result is what the client got from a failed call.
func result(err error) conformance.RPCResult {
	res := conformance.RPCResult{Code: core.RPCCode(connect.CodeOf(err)).String(), Message: err.Error()}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return res
	}
	res.Message = ce.Message()
	if sc := ce.Meta().Values("Set-Cookie"); len(sc) > 0 {
		res.SetCookie = sc
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			res.Reason, res.Domain, res.Metadata = v.GetReason(), v.GetDomain(), v.GetMetadata()
		case *errdetails.RetryInfo:
			res.RetryDelay = v.GetRetryDelay().AsDuration()
		}
	}
	return res
}
