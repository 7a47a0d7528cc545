package oryconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// Config is the policy of every procedure a handler serves. Procedure names
// are full names, "/package.Service/Method" (connect.Spec's Procedure). A
// procedure that Config does not name requires a session under Options:
// nothing is public unless it is listed in Public.
type Config struct {
	// Options is the route policy of every guarded procedure
	// (core.RequireAAL2, core.MaxAuthAge, core.Check, ...). Empty means a
	// session is required.
	Options []core.Option

	// Procedures adds options for single procedures, after Options. Give a
	// procedure core.Optional() to let callers without a session in (the
	// handler then reads SessionError).
	Procedures map[string][]core.Option

	// Optional lists procedures that run with or without a session: the
	// same as core.Optional() in Procedures.
	Optional []string

	// Public lists procedures that run unchecked and without a session: Ory
	// is not asked. A procedure in Public cannot also be in Procedures or
	// Optional.
	Public []string

	// ErrorHandler turns a denial into the error the client gets. err is a
	// *core.Denial (errors.Is against core.ErrNoSession, ...); procedure is
	// the full procedure name. Nil means DefaultErrorHandler; a nil error
	// from it means the standard one (a denied call never runs).
	ErrorHandler func(ctx context.Context, procedure string, err error) error

	// StreamRecheck, when positive, asks the guard again this often while a
	// stream is open and ends the stream when the session is gone (see
	// "Streams" in the package documentation). Zero checks a stream only
	// when it opens.
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
		return nil, fmt.Errorf("oryconnect: Config: %w", err)
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
		gc := &guardedConn{StreamingHandlerConn: conn}
		hctx, cancel := context.WithCancelCause(core.ContextWithDecision(ctx, d))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if den := rt.Watch(hctx, &r, i.recheck); den != nil {
				end := i.errorFor(hctx, procedure, den)
				gc.end(end)
				cancel(end)
			}
		}()
		err := next(hctx, gc)
		cancel(nil)
		<-done
		if end := gc.ended(); end != nil {
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

	mu  sync.Mutex
	err error
}

func (c *guardedConn) end(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func (c *guardedConn) ended() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *guardedConn) Send(m any) error {
	if err := c.ended(); err != nil {
		return err
	}
	return c.StreamingHandlerConn.Send(m)
}

func (c *guardedConn) Receive(m any) error {
	if err := c.ended(); err != nil {
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
