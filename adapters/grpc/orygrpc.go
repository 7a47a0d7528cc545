package orygrpc

import (
	"context"
	"fmt"
	"strings"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Config is the policy of every method a server serves, keyed by full gRPC
// method name, "/package.Service/Method" (grpc.UnaryServerInfo's
// FullMethod). Options, Methods, Optional and Public mean what they mean in
// core.MethodConfig: a method that Config does not name requires a session
// under Options, and nothing is public unless Public lists it.
type Config struct {
	// Options is the policy of every guarded method (core.RequireAAL2,
	// core.MaxAuthAge, core.Check, core.Permit, ...).
	Options []core.Option
	// Methods adds options for single methods (Permit for one whose object
	// is in its request message).
	Methods map[string][]core.Option
	// Optional methods run with or without a session (SessionError tells
	// why there is none).
	Optional []string
	// Public methods run unchecked, without a session; Ory is not asked.
	Public []string

	// ErrorHandler turns a denial into the error the client gets. err is a
	// *core.Denial (errors.Is against core.ErrNoSession, ...); method is
	// the full method name. Nil means DefaultErrorHandler; a nil error from
	// it means the standard one (a denied call never runs).
	ErrorHandler func(ctx context.Context, method string, err error) error

	// StreamRecheck, when positive, asks the guard again this often while a
	// stream is open and ends the stream when the session is gone (see
	// "Streams" in the package documentation). Zero checks a stream only
	// when it opens.
	StreamRecheck time.Duration
}

// Interceptor holds the unary and stream server interceptors of one
// policy. Build it with New; it is safe for concurrent use.
type Interceptor struct {
	methods *core.MethodPolicy
	onError func(ctx context.Context, method string, err error) error
	recheck time.Duration
}

// New checks cfg's method names and builds the interceptors. Every route
// answers as to an API client (core.ForceAPI): a gRPC client never gets a
// redirect. Call Validate once the services are registered.
func New(guard *core.Guard, cfg Config) (*Interceptor, error) {
	methods, err := core.NewMethodPolicy(guard, core.MethodConfig{
		Options: cfg.Options, Methods: cfg.Methods, Optional: cfg.Optional, Public: cfg.Public,
	})
	if err != nil {
		return nil, fmt.Errorf("orygrpc: %w", err)
	}
	i := &Interceptor{methods: methods, onError: cfg.ErrorHandler, recheck: cfg.StreamRecheck}
	if i.onError == nil {
		i.onError = DefaultErrorHandler
	}
	return i, nil
}

// ServiceInfoProvider is what Validate reads the registered methods from;
// *grpc.Server implements it.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// Validate fails when a method name in the Config matches no method the
// server has registered: a misspelt name would otherwise leave the real
// method under the default policy (and a misspelt public name would leave
// it protected). Call it after registering every service and before Serve.
func (i *Interceptor) Validate(srv ServiceInfoProvider) error {
	var served []string
	for svc, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			served = append(served, "/"+svc+"/"+m.Name)
		}
	}
	if err := i.methods.Validate(served); err != nil {
		return fmt.Errorf("orygrpc: %w", err)
	}
	return nil
}

// ServerOptions are the grpc.ServerOption values that install both
// interceptors (chained after any others).
func (i *Interceptor) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(i.Unary()), grpc.ChainStreamInterceptor(i.Stream())}
}

// Unary is the unary server interceptor.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		rt := i.methods.Route(info.FullMethod)
		if rt == nil {
			return handler(ctx, req)
		}
		r := request(ctx)
		r.Params = core.MessageParams(req) // for Permit's object
		d := rt.Authenticate(ctx, &r)
		if !d.Allow {
			return nil, i.deny(ctx, info.FullMethod, d.Denial)
		}
		if md := headerMD(d); md != nil {
			_ = grpc.SetHeader(ctx, md) // only fails when the handler already sent headers
		}
		return handler(core.ContextWithDecision(ctx, d), req)
	}
}

// Stream is the stream server interceptor. The guard decides once, when the
// stream opens, and again every Config.StreamRecheck when set.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		rt := i.methods.Route(info.FullMethod)
		if rt == nil {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		r := request(ctx)
		d := rt.Authenticate(ctx, &r)
		if !d.Allow {
			return i.deny(ctx, info.FullMethod, d.Denial)
		}
		if md := headerMD(d); md != nil {
			_ = ss.SetHeader(md)
		}
		dctx := core.ContextWithDecision(ctx, d)
		if i.recheck <= 0 || d.Session == nil {
			return handler(srv, &guardedStream{ServerStream: ss, ctx: dctx})
		}
		w := rt.WatchStream(dctx, &r, i.recheck, func(ctx context.Context, den *core.Denial) error {
			return i.errorFor(ctx, info.FullMethod, den)
		})
		err := handler(srv, &guardedStream{ServerStream: ss, ctx: w.Context(), watch: w})
		w.Stop()
		if end := w.Ended(); end != nil {
			return end
		}
		return err
	}
}

// deny is the error for a denial; the client's own cancellation wins.
func (i *Interceptor) deny(ctx context.Context, method string, d *core.Denial) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return i.errorFor(ctx, method, d)
}

// errorFor is the app's error for a denial, or the standard one when the
// ErrorHandler returns nil: it never lets a denied call through.
func (i *Interceptor) errorFor(ctx context.Context, method string, d *core.Denial) error {
	if err := i.onError(ctx, method, d); err != nil {
		return err
	}
	return Status(d).Err()
}

// guardedStream carries the decision in its context and, once a re-check
// ended it (watch), fails every send and receive with the ending status.
type guardedStream struct {
	grpc.ServerStream
	ctx   context.Context
	watch *core.StreamWatch // nil without a re-check
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) ended() error {
	if s.watch == nil {
		return nil
	}
	return s.watch.Ended()
}

func (s *guardedStream) SendMsg(m any) error {
	if err := s.ended(); err != nil {
		return err
	}
	return s.ServerStream.SendMsg(m)
}

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ended(); err != nil {
		return err
	}
	return s.ServerStream.RecvMsg(m)
}

// request is the guard's view of a call: its credentials, from the
// incoming metadata (whose keys gRPC lower-cases). Only x-session-token,
// authorization and cookie are read, so nothing else can reach Ory; core
// picks Ory's credential out of them as it does on HTTP. Every cookie field
// is passed (HTTP/2 clients may split the Cookie header); core reads them
// as one header joined with "; ".
func request(ctx context.Context) core.Request {
	md, _ := metadata.FromIncomingContext(ctx)
	return core.Request{
		Method:        "POST",
		ContentType:   first(md["content-type"]),
		SessionToken:  first(md["x-session-token"]),
		Authorization: first(md["authorization"]),
		Cookies:       md["cookie"],
	}
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// headerMD is the response headers of an allowed decision (a Set-Cookie Ory
// sent with whoami) as metadata, for gRPC-Web proxies that pass them on; nil
// when there are none.
func headerMD(d core.Decision) metadata.MD {
	if len(d.Header) == 0 {
		return nil
	}
	md := make(metadata.MD, len(d.Header))
	for k, vs := range d.Header {
		md[strings.ToLower(k)] = append([]string(nil), vs...)
	}
	return md
}

// Permit is core.Permit for a unary method whose object is in its request
// message: object reads it from the message, of the generated type M (for
// example func(m *docv1.GetRequest) string { return m.GetId() }). A
// message of another type makes the empty object, which denies the call
// (PermissionDenied), as does any stream: a stream is checked when it
// opens, before its first message (give a stream a Permit with another
// core.Object, or none). Give it to a method in Config.Methods.
func Permit[M any](namespace, relation string, object func(msg M) string, opts ...core.PermitOption) core.Option {
	return core.Permit(namespace, relation, core.MessageObject(object), opts...)
}

// Session returns the session the interceptor verified for the call whose
// context is ctx. It reports false for a public method, or an optional one
// called without a session.
func Session(ctx context.Context) (*client.Session, bool) {
	return core.SessionFromContext(ctx)
}

// SessionError tells why the call whose context is ctx has no session: nil
// when it has one, the *core.Denial on an optional method called without one
// (errors.Is core.ErrNoSession: anonymous; core.ErrOryUnavailable and the
// like: Ory failed), core.ErrNoSession when the interceptor did not run.
func SessionError(ctx context.Context) error {
	return core.SessionError(ctx)
}
