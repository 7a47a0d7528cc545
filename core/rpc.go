package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// What the RPC adapters (orygrpc, oryconnect) share: the policy of a
// server's methods, the status of a denial, and the re-check of an open
// stream. Core imports no RPC framework; the adapters translate.

// MethodConfig is the policy of every method an RPC server serves, keyed
// by full method name, "/package.Service/Method" (gRPC's FullMethod,
// Connect's Procedure). A method it does not name requires a session under
// Options: nothing is public unless it is listed in Public.
type MethodConfig struct {
	// Options is the route policy of every guarded method (RequireAAL2,
	// MaxAuthAge, Check, Permit, ...). Empty means a session is required.
	Options []Option

	// Methods adds options for single methods, after Options.
	Methods map[string][]Option

	// Optional lists methods that run with or without a session: the same
	// as Optional() in Methods.
	Optional []string

	// Public lists methods that run unchecked and without a session: Ory is
	// not asked. A method in Public cannot also be in Methods or Optional.
	Public []string
}

// MethodPolicy is the route of each method of an RPC server, built once
// from a MethodConfig (NewMethodPolicy). Every route answers as to an API
// client (ForceAPI, after every other option): an RPC client never gets a
// redirect. It is safe for concurrent use.
type MethodPolicy struct {
	def    *Route
	routes map[string]*Route // methods named in Methods or Optional
	public map[string]bool
}

// NewMethodPolicy checks cfg's method names and builds the routes of g for
// them. It fails on a name that is not a full method name, and on a method
// both public and given a policy.
func NewMethodPolicy(g *Guard, cfg MethodConfig) (*MethodPolicy, error) {
	if g == nil {
		return nil, errors.New("a *core.Guard is required")
	}
	p := &MethodPolicy{
		def:    g.Route(methodOptions(cfg.Options, nil)...),
		routes: map[string]*Route{},
		public: map[string]bool{},
	}
	for _, m := range cfg.Public {
		if err := checkMethodName(m); err != nil {
			return nil, fmt.Errorf("public: %w", err)
		}
		p.public[m] = true
	}
	per := map[string][]Option{}
	for m, opts := range cfg.Methods {
		if err := checkMethodName(m); err != nil {
			return nil, err
		}
		per[m] = append(per[m], opts...)
	}
	for _, m := range cfg.Optional {
		if err := checkMethodName(m); err != nil {
			return nil, fmt.Errorf("optional: %w", err)
		}
		per[m] = append(per[m], Optional())
	}
	for m, opts := range per {
		if p.public[m] {
			return nil, fmt.Errorf("method %q is both public and given a policy; list it in one place", m)
		}
		p.routes[m] = g.Route(methodOptions(cfg.Options, opts)...)
	}
	return p, nil
}

// methodOptions is the policy of one method: the app's options, the
// method's, and ForceAPI last so that no option makes it a browser route.
func methodOptions(all, method []Option) []Option {
	out := make([]Option, 0, len(all)+len(method)+1)
	out = append(out, all...)
	out = append(out, method...)
	return append(out, ForceAPI())
}

// checkMethodName accepts "/package.Service/Method".
func checkMethodName(m string) error {
	svc, method, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	if !strings.HasPrefix(m, "/") || !ok || svc == "" || method == "" || strings.Contains(method, "/") {
		return fmt.Errorf("%q is not a full method name such as /package.Service/Method", m)
	}
	return nil
}

// Route is the route of method, or nil when the method is public.
func (p *MethodPolicy) Route(method string) *Route {
	if p.public[method] {
		return nil
	}
	if rt, ok := p.routes[method]; ok {
		return rt
	}
	return p.def
}

// Validate fails when a method the config names is not among served, the
// full names of the methods the server serves: a misspelt name would
// otherwise leave the real method under the default policy (and a
// misspelt public name would leave it protected).
func (p *MethodPolicy) Validate(served []string) error {
	var unknown []string
	for m := range p.public {
		if !slices.Contains(served, m) {
			unknown = append(unknown, m)
		}
	}
	for m := range p.routes {
		if !slices.Contains(served, m) {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("the config names methods the server does not serve: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// RPCCode is a canonical RPC status code (google.rpc.Code): the numbers
// gRPC's codes.Code and Connect's connect.Code both use, so an adapter
// converts it with codes.Code(c) or connect.Code(c).
type RPCCode uint32

// The RPC status codes.
const (
	RPCOK                 RPCCode = 0
	RPCCanceled           RPCCode = 1
	RPCUnknown            RPCCode = 2
	RPCInvalidArgument    RPCCode = 3
	RPCDeadlineExceeded   RPCCode = 4
	RPCNotFound           RPCCode = 5
	RPCAlreadyExists      RPCCode = 6
	RPCPermissionDenied   RPCCode = 7
	RPCResourceExhausted  RPCCode = 8
	RPCFailedPrecondition RPCCode = 9
	RPCAborted            RPCCode = 10
	RPCOutOfRange         RPCCode = 11
	RPCUnimplemented      RPCCode = 12
	RPCInternal           RPCCode = 13
	RPCUnavailable        RPCCode = 14
	RPCDataLoss           RPCCode = 15
	RPCUnauthenticated    RPCCode = 16
)

var rpcCodeNames = [...]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
	"PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
}

// String is the code's name as gRPC spells it ("Unauthenticated").
func (c RPCCode) String() string {
	if int(c) < len(rpcCodeNames) {
		return rpcCodeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint32(c))
}

// RPCErrorDomain is the domain of the errdetails.ErrorInfo of every
// denial an RPC adapter answers.
const RPCErrorDomain = "oryguard"

// RPCMetadataRedirect is the errdetails.ErrorInfo metadata key that holds
// the URL a browser opens to do what the reason asks (Ory's login, step-up
// or re-authentication flow), when there is one.
const RPCMetadataRedirect = "redirect_browser_to"

// RPCStatus is the standard RPC answer to a denial, transport-neutral: an
// RPC adapter builds its status from it.
type RPCStatus struct {
	// Code is the status code of the denial's reason: ErrNoSession
	// Unauthenticated; ErrAAL2Required, ErrRefreshRequired and
	// ErrForbidden (ErrPermissionDenied included) PermissionDenied;
	// ErrRateLimited ResourceExhausted; ErrOryUnavailable
	// (ErrPermissionsUnavailable included) and ErrBusy Unavailable;
	// ErrOryTimeout DeadlineExceeded. Any other error is Internal.
	Code RPCCode
	// Message is the sentinel's text, never an app check's error ("internal
	// error" for an error that is not a *Denial).
	Message string
	// Reason is the denial's ReasonCode, the errdetails.ErrorInfo reason
	// (in domain RPCErrorDomain); empty for Internal.
	Reason ReasonCode
	// Metadata is the ErrorInfo metadata: RPCMetadataRedirect when the
	// denial has a Location. Nil when empty.
	Metadata map[string]string
	// RetryDelay, when positive, is the denial's Retry-After: the
	// errdetails.RetryInfo delay.
	RetryDelay time.Duration
}

// rpcCodes is the status code of each reason code.
var rpcCodes = map[ReasonCode]RPCCode{
	ReasonNoSession:       RPCUnauthenticated,
	ReasonAAL2Required:    RPCPermissionDenied,
	ReasonRefreshRequired: RPCPermissionDenied,
	ReasonForbidden:       RPCPermissionDenied,
	ReasonRateLimited:     RPCResourceExhausted,
	ReasonOryUnavailable:  RPCUnavailable,
	ReasonOryTimeout:      RPCDeadlineExceeded,
	ReasonBusy:            RPCUnavailable,

	ReasonPermissionDenied:       RPCPermissionDenied,
	ReasonPermissionsUnavailable: RPCUnavailable,
}

// RPCStatusOf is the standard RPC answer to err: a *Denial's (see
// RPCStatus), Internal for any other error, a nil *Denial included.
func RPCStatusOf(err error) RPCStatus {
	var d *Denial
	if !errors.As(err, &d) || d == nil {
		return RPCStatus{Code: RPCInternal, Message: "internal error"}
	}
	code, ok := rpcCodes[d.ReasonCode()]
	if !ok {
		return RPCStatus{Code: RPCInternal, Message: "internal error"}
	}
	st := RPCStatus{Code: code, Message: d.Reason.Error(), Reason: d.ReasonCode()}
	if d.Location != "" {
		st.Metadata = map[string]string{RPCMetadataRedirect: d.Location}
	}
	if d.RetryAfter > 0 {
		st.RetryDelay = time.Duration(d.RetryAfter) * time.Second
	}
	return st
}

// Watch asks rt about r again every interval while a stream is open, and
// returns the denial that ends the stream: the session is gone, or no
// longer meets the route's policy (a Permit included). It returns nil once
// ctx ends. Ory or Ory Permissions failing (unavailable, timeout, rate
// limit, the guard saturated) says nothing about the session and does not
// end the stream; the next tick asks again. The RPC adapters run it for their opt-in stream re-check.
func (rt *Route) Watch(ctx context.Context, r *Request, interval time.Duration) *Denial {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		d := rt.Authenticate(ctx, r)
		if ctx.Err() != nil {
			return nil
		}
		if d.Allow && d.Session != nil || d.Denial == nil || oryFailed(d.Denial) {
			continue
		}
		return d.Denial
	}
}

// StreamWatch is a stream's re-check running in the background
// (Route.WatchStream). Its methods are safe for concurrent use.
type StreamWatch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu  sync.Mutex
	err error
}

// WatchStream runs Watch in the background for a stream whose handler
// runs with ctx. When Watch returns a denial, end turns it into the
// error the stream ends with (an adapter's ErrorHandler): Ended then
// returns it, and Context is cancelled with it as cause. Call Stop when
// the handler returns.
func (rt *Route) WatchStream(ctx context.Context, r *Request, interval time.Duration, end func(ctx context.Context, d *Denial) error) *StreamWatch {
	w := &StreamWatch{done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	go func() {
		defer close(w.done)
		if d := rt.Watch(w.ctx, r, interval); d != nil {
			err := end(w.ctx, d)
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			w.cancel(err)
		}
	}()
	return w
}

// Context is the handler's context: cancelled when the watch ends the
// stream, or once Stop is called.
func (w *StreamWatch) Context() context.Context { return w.ctx }

// Ended is the error the watch ended the stream with; nil while the stream
// may go on.
func (w *StreamWatch) Ended() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the watch and waits for it.
func (w *StreamWatch) Stop() {
	w.cancel(nil)
	<-w.done
}

// oryFailed reports a denial that says nothing about the session: Ory did
// not answer, or the guard did not ask.
func oryFailed(d *Denial) bool {
	switch d.ReasonCode() {
	case ReasonOryUnavailable, ReasonOryTimeout, ReasonRateLimited, ReasonBusy, ReasonPermissionsUnavailable:
		return true
	}
	return false
}

// MessageParams is the Request.Params an RPC adapter sets for a unary
// call: it carries the request message, from which MessageObject reads a
// permission check's object. It has no path parameters.
func MessageParams(msg any) Params { return messageParams{msg} }

type messageParams struct{ msg any }

func (messageParams) Param(string) string { return "" }

// MessageObject is the Object of a permission check (Permit) read from a
// unary RPC's request message, as the RPC adapter passed it
// (MessageParams): object gets the message as type M, usually a pointer to
// a generated message such as *docv1.GetRequest. A message of another type,
// and a call without one (a stream, whose messages arrive after the check),
// make the empty object, which denies the call.
func MessageObject[M any](object func(msg M) string) Object {
	return func(r *Request) string {
		p, ok := r.Params.(messageParams)
		if !ok {
			return ""
		}
		m, ok := p.msg.(M)
		if !ok {
			return ""
		}
		return object(m)
	}
}
