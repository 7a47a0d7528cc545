package oryconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// Config is the policy of every procedure a handler serves, keyed by full
// procedure name, "/package.Service/Method" (connect.Spec's Procedure).
// Options, Procedures, Optional and Public mean what Options, Methods,
// Optional and Public mean in core.MethodConfig: a procedure that Config
// does not name requires a session under Options, and nothing is public
// unless Public lists it.
type Config struct {
	// Options is the policy of every guarded procedure.
	Options []core.Option
	// Procedures adds options for single procedures (Permit for one whose
	// object is in its request message).
	Procedures map[string][]core.Option
	// Optional procedures run with or without a session.
	Optional []string
	// Public procedures run unchecked, without a session.
	Public []string

	// ErrorHandler returns the error a denied call gets, from the
	// *core.Denial err; wrap DefaultErrorHandler (the default) for the
	// denials you leave to it. Returning nil still denies, with the
	// standard error.
	ErrorHandler func(ctx context.Context, procedure string, err error) error

	// StreamRecheck, when positive, is how often an open stream's session
	// is checked again; the stream ends when it is gone (see "Streams" in
	// the package documentation). Zero: at open only.
	StreamRecheck time.Duration
}

// Interceptor is a connect.Interceptor that guards the handlers it is given
// to (connect.WithInterceptors). On a client it does nothing. Build it with
// New; it is safe for concurrent use.
type Interceptor struct {
	procedures *core.MethodPolicy
	onError    func(ctx context.Context, procedure string, err error) error
	recheck    time.Duration
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New checks cfg's procedure names and builds the interceptor. Every route
// answers as to an API client (core.ForceAPI): an RPC client never gets a
// redirect. Call Validate with the procedures the server serves.
func New(guard *core.Guard, cfg Config) (*Interceptor, error) {
	procedures, err := core.NewMethodPolicy(guard, core.MethodConfig{
		Options: cfg.Options, Methods: cfg.Procedures, Optional: cfg.Optional, Public: cfg.Public,
	})
	if err != nil {
		return nil, fmt.Errorf("oryconnect: %w", err)
	}
	i := &Interceptor{procedures: procedures, onError: cfg.ErrorHandler, recheck: cfg.StreamRecheck}
	if i.onError == nil {
		i.onError = DefaultErrorHandler
	}
	return i, nil
}

// Validate fails when a procedure name in the Config is not among
// procedures, the procedures the server serves (the generated
// ...Procedure constants, or ServiceProcedures of its service
// descriptors): a misspelt name would otherwise leave the real procedure
// under the default policy. Call it once, before serving.
func (i *Interceptor) Validate(procedures ...string) error {
	if err := i.procedures.Validate(procedures); err != nil {
		return fmt.Errorf("oryconnect: %w", err)
	}
	return nil
}

// WrapUnary guards a unary handler. A Set-Cookie Ory sent with whoami is
// added to the response headers (or the error's metadata).
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		if spec.IsClient {
			return next(ctx, req)
		}
		rt := i.procedures.Route(spec.Procedure)
		if rt == nil {
			return next(ctx, req)
		}
		r := request(req.Header())
		r.Params = core.MessageParams(req.Any()) // for Permit's object
		d := rt.Authenticate(ctx, &r)
		if !d.Allow {
			return nil, i.deny(ctx, spec.Procedure, d.Denial)
		}
		res, err := next(core.ContextWithDecision(ctx, d), req)
		if len(d.Header) > 0 {
			var cerr *connect.Error
			switch {
			case err == nil && res != nil:
				core.AddHeader(res.Header(), d.Header)
			case errors.As(err, &cerr):
				core.AddHeader(cerr.Meta(), d.Header)
			}
		}
		return res, err
	}
}

// WrapStreamingClient returns next: the interceptor guards handlers only.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler guards a streaming handler: once when the stream
// opens, and again every Config.StreamRecheck when set.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		rt := i.procedures.Route(procedure)
		if rt == nil {
			return next(ctx, conn)
		}
		r := request(conn.RequestHeader())
		d := rt.Authenticate(ctx, &r)
		if !d.Allow {
			return i.deny(ctx, procedure, d.Denial)
		}
		core.AddHeader(conn.ResponseHeader(), d.Header)
		if i.recheck <= 0 || d.Session == nil {
			return next(core.ContextWithDecision(ctx, d), conn)
		}
		w := rt.WatchStream(core.ContextWithDecision(ctx, d), &r, i.recheck, func(ctx context.Context, den *core.Denial) error {
			return i.errorFor(ctx, procedure, den)
		})
		err := next(w.Context(), &guardedConn{StreamingHandlerConn: conn, watch: w})
		w.Stop()
		if end := w.Ended(); end != nil {
			return end
		}
		return err
	}
}

// deny is the error for a denial; the client's own cancellation wins.
func (i *Interceptor) deny(ctx context.Context, procedure string, d *core.Denial) error {
	if err := ctx.Err(); err != nil {
		code := connect.CodeCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			code = connect.CodeDeadlineExceeded
		}
		return connect.NewError(code, err)
	}
	return i.errorFor(ctx, procedure, d)
}

// errorFor is the app's error for a denial, or the standard one when the
// ErrorHandler returns nil: it never lets a denied call through.
func (i *Interceptor) errorFor(ctx context.Context, procedure string, d *core.Denial) error {
	if err := i.onError(ctx, procedure, d); err != nil {
		return err
	}
	return Error(d)
}

// guardedConn, once a re-check ended its stream, fails every send and
// receive with the ending error.
type guardedConn struct {
	connect.StreamingHandlerConn
	watch *core.StreamWatch
}

func (c *guardedConn) Send(m any) error {
	if err := c.watch.Ended(); err != nil {
		return err
	}
	return c.StreamingHandlerConn.Send(m)
}

func (c *guardedConn) Receive(m any) error {
	if err := c.watch.Ended(); err != nil {
		return err
	}
	return c.StreamingHandlerConn.Receive(m)
}

// request is the guard's view of a call: X-Session-Token, Authorization
// and every Cookie field (HTTP/2 clients may split the header; core reads
// them as one header joined with "; "), and nothing else, so nothing else
// can reach Ory.
func request(h http.Header) core.Request {
	return core.Request{
		Method:        http.MethodPost,
		ContentType:   h.Get("Content-Type"),
		SessionToken:  h.Get("X-Session-Token"),
		Authorization: h.Get("Authorization"),
		Cookies:       h.Values("Cookie"),
	}
}

// Permit is core.Permit for a unary procedure whose object is in its
// request message: object reads it from the message, of the generated type
// M (for example func(m *docv1.GetRequest) string { return m.GetId() }).
// A message of another type makes the empty object, which denies the call
// (CodePermissionDenied), as does any stream: a stream is checked when it
// opens, before its first message (give a stream a Permit with another
// core.Object, or none). Give it to a procedure in Config.Procedures.
func Permit[M any](namespace, relation string, object func(msg M) string, opts ...core.PermitOption) core.Option {
	return core.Permit(namespace, relation, core.MessageObject(object), opts...)
}

// Session returns the session the interceptor verified for the call whose
// context is ctx. It reports false for a public procedure, or an optional
// one called without a session.
func Session(ctx context.Context) (*client.Session, bool) {
	return core.SessionFromContext(ctx)
}

// SessionError tells why the call whose context is ctx has no session: nil
// when it has one, the *core.Denial on an optional procedure called without
// one (errors.Is core.ErrNoSession: anonymous; core.ErrOryUnavailable and
// the like: Ory failed), core.ErrNoSession when the interceptor did not run.
func SessionError(ctx context.Context) error {
	return core.SessionError(ctx)
}
