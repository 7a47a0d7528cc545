package oryconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
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
	def     *core.Route
	routes  map[string]*core.Route // procedures named in Procedures or Optional
	public  map[string]bool
	onError func(ctx context.Context, procedure string, err error) error
	recheck time.Duration
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New checks cfg's procedure names and builds the interceptor. Every route
// answers as to an API client (core.ForceAPI): an RPC client never gets a
// redirect. Call Validate with the procedures the server serves.
func New(guard *core.Guard, cfg Config) (*Interceptor, error) {
	if guard == nil {
		return nil, errors.New("oryconnect: New needs a *core.Guard")
	}
	i := &Interceptor{
		routes:  map[string]*core.Route{},
		public:  map[string]bool{},
		onError: cfg.ErrorHandler,
		recheck: cfg.StreamRecheck,
	}
	if i.onError == nil {
		i.onError = DefaultErrorHandler
	}
	i.def = guard.Route(routeOptions(cfg.Options, nil)...)
	for _, p := range cfg.Public {
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("oryconnect: Config.Public: %w", err)
		}
		i.public[p] = true
	}
	per := map[string][]core.Option{}
	for p, opts := range cfg.Procedures {
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("oryconnect: Config.Procedures: %w", err)
		}
		per[p] = append(per[p], opts...)
	}
	for _, p := range cfg.Optional {
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("oryconnect: Config.Optional: %w", err)
		}
		per[p] = append(per[p], core.Optional())
	}
	for p, opts := range per {
		if i.public[p] {
			return nil, fmt.Errorf("oryconnect: procedure %q is both public and given a policy; list it in one place", p)
		}
		i.routes[p] = guard.Route(routeOptions(cfg.Options, opts)...)
	}
	return i, nil
}

// routeOptions is the policy of one procedure: the app's options, the
// procedure's, and ForceAPI last so that no option makes it a browser route.
func routeOptions(all, proc []core.Option) []core.Option {
	out := make([]core.Option, 0, len(all)+len(proc)+1)
	out = append(out, all...)
	out = append(out, proc...)
	return append(out, core.ForceAPI())
}

// checkName accepts "/package.Service/Method".
func checkName(p string) error {
	svc, method, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !strings.HasPrefix(p, "/") || !ok || svc == "" || method == "" || strings.Contains(method, "/") {
		return fmt.Errorf("%q is not a full procedure name such as /package.Service/Method", p)
	}
	return nil
}

// Validate fails when a procedure name in the Config is not among
// procedures, the procedures the server serves (the generated
// ...Procedure constants, or ServiceProcedures of its service
// descriptors): a misspelt name would otherwise leave the real procedure
// under the default policy. Call it once, before serving.
func (i *Interceptor) Validate(procedures ...string) error {
	known := make(map[string]bool, len(procedures))
	for _, p := range procedures {
		known[p] = true
	}
	var unknown []string
	for p := range i.public {
		if !known[p] {
			unknown = append(unknown, p)
		}
	}
	for p := range i.routes {
		if !known[p] {
			unknown = append(unknown, p)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("oryconnect: the Config names procedures the server does not serve: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// route is the policy of procedure, or nil when it is public.
func (i *Interceptor) route(procedure string) *core.Route {
	if i.public[procedure] {
		return nil
	}
	if rt, ok := i.routes[procedure]; ok {
		return rt
	}
	return i.def
}

// WrapUnary guards a unary handler. A Set-Cookie Ory sent with whoami is
// added to the response headers (or the error's metadata).
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		if spec.IsClient {
			return next(ctx, req)
		}
		rt := i.route(spec.Procedure)
		if rt == nil {
			return next(ctx, req)
		}
		r := request(req.Header())
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
		rt := i.route(procedure)
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
			i.watch(hctx, gc, cancel, rt, &r, procedure)
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

// watch asks the guard every i.recheck until the stream ends or its session
// is gone. Ory failing does not end a stream whose session was verified;
// the next tick asks again.
func (i *Interceptor) watch(ctx context.Context, gc *guardedConn, cancel context.CancelCauseFunc, rt *core.Route, r *core.Request, procedure string) {
	t := time.NewTicker(i.recheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d := rt.Authenticate(ctx, r)
		if ctx.Err() != nil {
			return
		}
		den := d.Denial
		if d.Allow && d.Session != nil || den == nil || oryFailed(den) {
			continue
		}
		end := i.onError(ctx, procedure, den)
		if end == nil {
			end = Error(den)
		}
		gc.end(end)
		cancel(end)
		return
	}
}

// oryFailed reports a denial that says nothing about the session: Ory did
// not answer.
func oryFailed(err error) bool {
	return errors.Is(err, core.ErrOryUnavailable) || errors.Is(err, core.ErrOryTimeout) ||
		errors.Is(err, core.ErrRateLimited) || errors.Is(err, core.ErrBusy)
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
	if err := i.onError(ctx, procedure, d); err != nil {
		return err
	}
	return Error(d) // an ErrorHandler never lets a denied call through
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
