package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// The RPC side of the suite: gRPC and Connect adapters (orygrpc,
// oryconnect) answer the API-client rows of the HTTP table, translated to
// status codes (browser-only rows, such as 303s to Ory's login, do not
// apply: an RPC client never gets a redirect). The suite knows no RPC
// framework: a target makes real calls over its transport and reports what
// the client got, transport-neutral.

// The suite's two methods, by full name: a unary method and a
// server-streaming one. Their request message carries one string, the
// object of a permission check (RPCCall.Object), and the answer carries
// what the handler returns. A target serves them without generated code,
// for example with grpc.ServiceDesc or connect.NewUnaryHandler and
// wrapperspb.StringValue as both request and response.
const (
	RPCUnary  = "/oryguard.conformance.v1.Probe/Unary"
	RPCStream = "/oryguard.conformance.v1.Probe/Stream"
)

// RPCTarget mounts one RPC adapter for RunRPC.
type RPCTarget interface {
	// Name names the adapter and its transport in test output, e.g.
	// "grpc" or "connect/h2c".
	Name() string

	// Serve builds the adapter's interceptor from guard and cfg (New, then
	// Validate against the served methods; a failure fails the test),
	// serves RPCUnary and RPCStream behind it over the real transport on
	// a loopback port until t ends, and returns a client of that server.
	//
	// Both handlers call probe.Observe with what the adapter's Session
	// accessor, core.SessionFromContext and the adapter's SessionError
	// accessor return on the handler's context. The unary handler answers
	// with the bytes Observe returned; the stream handler sends them as its
	// one message and ends the stream.
	Serve(t *testing.T, guard *core.Guard, cfg RPCConfig, probe *Probe) RPCClient
}

// RPCDirectTarget is an RPCTarget that can also hand a unary call's
// metadata to its interceptor in process, past the client and the server's
// parser, which refuse bytes no metadata value may hold. RunRPC then checks
// a hostile row that the transport refused in process too, where the
// interceptor must answer it exactly.
type RPCDirectTarget interface {
	RPCTarget
	// CallDirect builds the interceptor as Serve does and runs c (a
	// RPCUnary call) through it in process, with a handler that calls
	// probe.Observe as Serve's does.
	CallDirect(ctx context.Context, guard *core.Guard, cfg RPCConfig, probe *Probe, c RPCCall) RPCResult
}

// RPCClient makes one call to the server Serve started.
type RPCClient func(ctx context.Context, c RPCCall) RPCResult

// RPCCall is one call.
type RPCCall struct {
	// Method is RPCUnary or RPCStream (a stream's result is its first
	// message's, or the error).
	Method string
	// Metadata is the request metadata (gRPC) or headers (Connect), as
	// name / value pairs; a name may repeat (several cookie fields).
	Metadata []string
	// Object is the string the request message carries.
	Object string
}

// RPCConfig is the interceptor's config, framework-neutral: the fields of
// orygrpc.Config and oryconnect.Config (whose Methods are Procedures).
type RPCConfig struct {
	Options  []core.Option
	Methods  map[string][]core.Option
	Optional []string
	Public   []string
	// ErrorHandler, when set, is called by the adapter's ErrorHandler with
	// the method and the error; the target carries out the RPCPage it
	// returns. Nil: leave the ErrorHandler unset.
	ErrorHandler func(method string, err error) RPCPage
}

// RPCPage is what a target's ErrorHandler does with the error it got.
type RPCPage struct {
	// Default: return what the adapter's DefaultErrorHandler returns for
	// Err.
	Default bool
	Err     error
	// Nil: return nil (the adapter must still deny, with its standard
	// status).
	Nil bool
	// Otherwise: return an error with status Code and Message.
	Code    core.RPCCode
	Message string
}

// RPCResult is what the client got.
type RPCResult struct {
	// Code is the status code's name as core.RPCCode spells it ("OK",
	// "Unauthenticated", ...).
	Code string
	// Message is the status message ("" for OK).
	Message string
	// Body is the unary answer or the stream's first message.
	Body string
	// Reason, Domain and Metadata are the errdetails.ErrorInfo detail's;
	// empty without one.
	Reason, Domain string
	Metadata       map[string]string
	// RetryDelay is the errdetails.RetryInfo detail's delay; zero without
	// one.
	RetryDelay time.Duration
	// SetCookie are the set-cookie fields of the response metadata
	// (headers).
	SetCookie []string
}

// RPCOutcome is everything the suite checks about one RPC case on one
// target. The zero value of a field is an expectation too.
type RPCOutcome struct {
	Code    string
	Message string
	Body    string
	Reason  string
	Domain  string
	// Redirect is ErrorInfo's core.RPCMetadataRedirect, parsed; nil when
	// absent. OtherMetadata counts any other metadata key.
	Redirect      *Location
	OtherMetadata int
	RetryDelay    time.Duration
	SetCookie     []string

	HandlerRuns      int
	SessionID, Email string
	ContextSessionID string
	SessionError     *Seen
	// Errors are the errors the ErrorHandler got (when the case sets one
	// that records).
	Errors []Seen
	// Ory is every request that reached the fake Ory, oldest first.
	Ory []orytest.Recorded
	// Keto is every check that reached the fake Keto, oldest first, as
	// namespace:object#relation@subject.
	Keto []string
}

// rpcCase is one row of the RPC table.
type rpcCase struct {
	Name string
	// Mirrors names the rows of the HTTP table this row answers for RPC.
	Mirrors []string
	// Method is the method called; empty means RPCUnary (and the row runs
	// on RPCStream too unless Unary is set).
	Method string
	Unary  bool
	// Options is the policy of the called method. Unless Policy, Plain
	// or Errors is set, the row runs with Options in RPCConfig.Options on
	// both methods, and on the unary one also in RPCConfig.Methods and in
	// RPCConfig.Options with an ErrorHandler that wraps
	// DefaultErrorHandler; all must give Want.
	Options []core.Option
	// Policy, when set, is the whole config (Options is then unused), and
	// the row runs once per method.
	Policy func() RPCConfig
	// Plain runs the row with RPCConfig{Options: Options} alone.
	Plain bool
	// Errors, when set, makes the ErrorHandler answer so (ErrorsPage,
	// errorsAppError, errorsNilDenial, errorsNil, errorsCustom).
	Errors ErrorMode
	Config func(e *caseEnv, cfg *core.Config)
	Setup  func(e *caseEnv)
	// Keto, when set, prepares the fake Ory Permissions (Keto), which every
	// guard is configured with (Config.Permissions.URL).
	Keto   func(k *orytest.Keto)
	Hold   string
	MD     func(e *caseEnv) []string
	Object string
	Repeat int
	Before []rpcBefore
	Want   func(e *caseEnv) RPCOutcome
	// MayRefuse: the client or the server may refuse to carry the call
	// (bytes no gRPC metadata may hold, a header list too large). Then a
	// result with any code but OK is accepted, as long as the handler
	// did not run and Ory was not asked.
	MayRefuse bool
}

// rpcBefore is one call a case makes before the checked one.
type rpcBefore struct {
	Setup func(e *caseEnv)
	MD    func(e *caseEnv) []string
	Then  func(e *caseEnv)
}

// More error modes, for RPC rows.
const (
	// errorsNil returns nil from the ErrorHandler.
	errorsNil ErrorMode = 100 + iota
	// errorsCustom answers NotFound "no such thing" to ErrNoSession and
	// wraps DefaultErrorHandler for the rest, recording every error.
	errorsCustom
)

// RunRPC runs the API-client rows of the conformance table through RPC
// targets, translated to status codes, once with the session cache off and
// once with it on, against one fake Ory. With several targets it also
// checks that they all answer alike.
func RunRPC(t *testing.T, targets ...RPCTarget) {
	t.Helper()
	if len(targets) == 0 {
		t.Fatal("conformance: no targets")
	}
	runRPCTable(t, rpcTable(), targets)
	runRPCHostile(t, targets)
}

// RPCRawTarget is an RPCTarget whose server also takes Connect's unary
// protocol over HTTP/1.1 (POST to the method's path, a JSON body). RunRPC
// then writes the hostile credential headers to it as raw bytes, as the
// HTTP suite does, since Go's clients refuse to send most of them.
type RPCRawTarget interface {
	RPCTarget
	// Listen serves what Serve(t, guard, RPCConfig{}, probe) serves on a
	// loopback port until t ends and returns its address (host:port).
	Listen(t *testing.T, guard *core.Guard, probe *Probe) (addr string)
}

// runRPCHostile writes the hostile credential headers to each
// RPCRawTarget's server: the protected handler never runs, Ory is never
// asked and no answer sets a cookie. A header the server takes reaches the
// interceptor, which denies it (one decision, OutcomeNoSession, 401:
// Connect's Unauthenticated); the server may refuse one that no HTTP header
// may hold (another 4xx, or a hang-up, and no decision).
func runRPCHostile(t *testing.T, targets []RPCTarget) {
	t.Helper()
	t.Run("hostile headers as raw bytes", func(t *testing.T) {
		ory := orytest.NewServer()
		t.Cleanup(ory.Close)
		decisions := &decisionLog{}
		guard, err := core.New(core.Config{OryURL: ory.URL, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler), Observer: decisions})
		if err != nil {
			t.Fatalf("core.New: %v", err)
		}
		ran := map[reflect.Type]bool{} // Listen is the server alone: once per type
		for _, tg := range targets {
			raw, ok := tg.(RPCRawTarget)
			if !ok || ran[reflect.TypeOf(tg)] {
				continue
			}
			ran[reflect.TypeOf(tg)] = true
			t.Run(strings.ReplaceAll(tg.Name(), "/", ""), func(t *testing.T) {
				ory.Reset()
				probe := &Probe{}
				addr := raw.Listen(t, guard, probe)
				for _, h := range hostileHeaders() {
					t.Run(strings.ToValidUTF8(truncate(h[0], 40), "?"), func(t *testing.T) {
						decisions.take()
						resp := sendRaw(t, addr, rawPOST(RPCUnary, h...))
						got := decisions.take()
						switch {
						case len(got) == 1 && got[0] == core.OutcomeNoSession && resp != nil && resp.StatusCode == http.StatusUnauthorized:
							noCookie(t, resp)
						case len(got) == 0 && !printable(h) && (resp == nil || resp.StatusCode >= 400 && resp.StatusCode < 500):
							// refused by the server before any handler ran
						default:
							status := 0
							if resp != nil {
								status = resp.StatusCode
							}
							t.Errorf("status %d, decisions %v", status, got)
						}
					})
				}
				if runs, calls := probe.Take().Runs, ory.Calls(); runs != 0 || calls != 0 {
					t.Fatalf("handler ran %d times, Ory was asked %d times", runs, calls)
				}
			})
		}
		if len(ran) == 0 {
			t.Skip("no RPCRawTarget")
		}
	})
}

// printable reports whether header lines hold printable ASCII alone and
// are short enough for any server to take.
func printable(lines []string) bool {
	for _, l := range lines {
		if len(l) > 64<<10 {
			return false
		}
		for i := range len(l) {
			if l[i] < 0x20 || l[i] > 0x7e {
				return false
			}
		}
	}
	return true
}

// decisionLog records the outcome of every decision of a guard.
type decisionLog struct {
	core.NopObserver
	mu  sync.Mutex
	got []core.Outcome
}

func (l *decisionLog) Decision(_ context.Context, o core.Outcome) {
	l.mu.Lock()
	l.got = append(l.got, o)
	l.mu.Unlock()
}

func (l *decisionLog) take() []core.Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// rawPOST is a Connect unary call whose message (a StringValue) is "" in
// JSON.
func rawPOST(path string, headers ...string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
		strings.Join(append(headers, "Connection: close"), "\r\n") + "\r\n\r\n\"\""
}

func runRPCTable(t *testing.T, cases []rpcCase, targets []RPCTarget) {
	t.Helper()
	ory := orytest.NewServer()
	defer ory.Close()
	keto := orytest.NewKeto()
	defer keto.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 10 * time.Second}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	oryURL, _ := url.Parse(ory.URL)
	closed := closedURL(t)
	for _, run := range []struct {
		name  string
		cache core.CacheConfig
	}{
		{"cache-off", core.CacheConfig{Disabled: true}},
		{"cache-on", core.CacheConfig{TTL: time.Minute}},
	} {
		t.Run(run.name, func(t *testing.T) {
			env := &caseEnv{Ory: ory, OryURL: ory.URL, OryHost: oryURL.Host, ClosedURL: closed, Run: run.name, Cache: run.cache.TTL > 0}
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					runRPCCase(t, env, keto, c, run.cache, hc, targets)
				})
			}
		})
	}
}

// rpcMount is one way a case configures and calls the interceptor.
type rpcMount struct {
	name   string
	method string
	config func(c rpcCase, probe *Probe) RPCConfig
}

func rpcMounts(c rpcCase) []rpcMount {
	methods := []string{RPCUnary, RPCStream}
	switch {
	case c.Method != "":
		methods = []string{c.Method}
	case c.Unary:
		methods = methods[:1]
	}
	if c.Plain {
		c.Policy = func() RPCConfig { return RPCConfig{Options: c.Options} }
	}
	var out []rpcMount
	for _, m := range methods {
		kind := "unary"
		if m == RPCStream {
			kind = "stream"
		}
		if c.Policy != nil || c.Errors != ErrorsUnset {
			out = append(out, rpcMount{kind, m, func(c rpcCase, probe *Probe) RPCConfig {
				cfg := RPCConfig{Options: c.Options}
				if c.Policy != nil {
					cfg = c.Policy()
				}
				cfg.ErrorHandler = probe.rpcErrorHandler(c.Errors)
				return cfg
			}})
			continue
		}
		out = append(out, rpcMount{kind + ", Options", m, func(c rpcCase, _ *Probe) RPCConfig { return RPCConfig{Options: c.Options} }})
		if m == RPCStream {
			continue // the config's other forms are the same for both kinds
		}
		out = append(out,
			rpcMount{kind + ", Methods", m, func(c rpcCase, _ *Probe) RPCConfig {
				return RPCConfig{Methods: map[string][]core.Option{m: c.Options}}
			}},
			rpcMount{kind + ", ErrorHandler wrapping DefaultErrorHandler", m, func(c rpcCase, probe *Probe) RPCConfig {
				return RPCConfig{Options: c.Options, ErrorHandler: probe.rpcErrorHandler(ErrorsDefault)}
			}},
		)
	}
	return out
}

// rpcErrorHandler is the RPCConfig.ErrorHandler of mode m (nil for
// ErrorsUnset).
func (p *Probe) rpcErrorHandler(m ErrorMode) func(string, error) RPCPage {
	record := func(err error) {
		p.mu.Lock()
		p.seen.Errors = append(p.seen.Errors, err)
		p.mu.Unlock()
	}
	switch m {
	case ErrorsDefault:
		return func(_ string, err error) RPCPage { return RPCPage{Default: true, Err: err} }
	case errorsAppError:
		return func(string, error) RPCPage { return RPCPage{Default: true, Err: errAppFailure} }
	case errorsNilDenial:
		return func(string, error) RPCPage { return RPCPage{Default: true, Err: (*core.Denial)(nil)} }
	case errorsNil:
		return func(_ string, err error) RPCPage { record(err); return RPCPage{Nil: true} }
	case ErrorsPage:
		return func(_ string, err error) RPCPage {
			record(err)
			return RPCPage{Code: core.RPCFailedPrecondition, Message: "custom: " + reasonName(err)}
		}
	case errorsCustom:
		return func(_ string, err error) RPCPage {
			record(err)
			if errors.Is(err, core.ErrNoSession) {
				return RPCPage{Code: core.RPCNotFound, Message: "no such thing"}
			}
			return RPCPage{Default: true, Err: err}
		}
	}
	return nil
}

func runRPCCase(t *testing.T, env *caseEnv, keto *orytest.Keto, c rpcCase, cache core.CacheConfig, hc *http.Client, targets []RPCTarget) {
	env.Ory.ReplyAll(nil)
	defer env.Ory.ReplyAll(nil)
	keto.ReplyAll(nil)
	defer keto.ReplyAll(nil)
	if c.Setup != nil {
		c.Setup(env)
	}
	if c.Keto != nil {
		c.Keto(keto)
	}
	want := c.Want(env)
	for _, m := range rpcMounts(c) {
		results := make([]RPCOutcome, len(targets))
		for i, tg := range targets {
			cfg := core.Config{OryURL: env.OryURL, HTTPClient: hc, Cache: cache, Logger: slog.New(slog.DiscardHandler),
				Permissions: core.PermissionsConfig{URL: keto.URL}}
			if c.Config != nil {
				c.Config(env, &cfg)
			}
			guard, err := core.New(cfg)
			if err != nil {
				t.Fatalf("%s: core.New: %v", tg.Name(), err)
			}
			probe := &Probe{}
			call := tg.Serve(t, guard, m.config(c, probe), probe)
			env.Ory.Reset()
			keto.Reset()
			for _, b := range c.Before {
				if b.Setup != nil {
					b.Setup(env)
				}
				call(t.Context(), RPCCall{Method: m.method, Metadata: b.MD(env)})
				if b.Then != nil {
					b.Then(env)
				}
			}
			got, err := serveRPC(t, call, m.method, c, env, probe)
			if err != nil {
				t.Fatalf("%s, %s: %v", tg.Name(), m.name, err)
			}
			for _, r := range keto.Requests() {
				for _, tu := range r.Tuples {
					got.Keto = append(got.Keto, tupleString(tu))
				}
			}
			results[i] = got
			if c.MayRefuse && got.Code != want.Code && got.Code != "OK" && got.HandlerRuns == 0 && len(got.Ory) == 0 {
				t.Logf("%s, %s: the call was refused: %s %q", tg.Name(), m.name, got.Code, got.Message)
				direct, ok := tg.(RPCDirectTarget)
				if !ok || m.method != RPCUnary {
					continue
				}
				// The interceptor itself, with the metadata the transport refused.
				env.Ory.Reset()
				got = collect(direct.CallDirect(t.Context(), guard, m.config(c, probe), probe, RPCCall{Method: RPCUnary, Metadata: c.MD(env)}), probe, env)
				if diff := diffRPC(want, got); diff != "" {
					t.Errorf("%s, %s, in process: result differs from the expectation (got vs want):\n%s", tg.Name(), m.name, diff)
				}
				continue
			}
			if diff := diffRPC(want, got); diff != "" {
				t.Errorf("%s, %s: result differs from the expectation (got vs want):\n%s", tg.Name(), m.name, diff)
			}
		}
		if c.MayRefuse {
			continue // targets may refuse in their own way
		}
		for i := 1; i < len(results); i++ {
			if diff := diffRPC(results[0], results[i]); diff != "" {
				t.Errorf("%s: %s and %s disagree (%[3]s vs %[2]s):\n%s", m.name, targets[0].Name(), targets[i].Name(), diff)
			}
		}
	}
}

// serveRPC makes a case's call (after its held call, when it has one) and
// collects the outcome.
func serveRPC(t *testing.T, call RPCClient, method string, c rpcCase, env *caseEnv, probe *Probe) (RPCOutcome, error) {
	release, held := make(chan struct{}), make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	if c.Hold != "" {
		env.Ory.Reply(env.Cred(c.Hold), orytest.Reply{Until: release, Body: []byte("{}")})
		go func() {
			defer close(held)
			call(context.Background(), RPCCall{Method: RPCUnary, Metadata: []string{"x-session-token", env.Cred(c.Hold)}})
		}()
		for env.Ory.Calls() == 0 { // until Ory holds the lookup
			select {
			case <-held:
				return RPCOutcome{}, errors.New("the held call ended before it reached Ory")
			case <-t.Context().Done():
				return RPCOutcome{}, errors.New("test ended while waiting for the held call")
			case <-time.After(time.Millisecond):
			}
		}
	} else {
		close(held)
	}
	var md []string
	if c.MD != nil {
		md = c.MD(env)
	}
	var res RPCResult
	for range max(c.Repeat, 1) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		res = call(ctx, RPCCall{Method: method, Metadata: md, Object: c.Object})
		cancel()
	}
	o := collect(res, probe, env)
	if c.Hold != "" {
		close(release)
		released = true
		<-held
	}
	return o, nil
}

// collect is the outcome of a call that got res: what the client got, the
// handler saw (probe) and Ory received.
func collect(res RPCResult, probe *Probe, env *caseEnv) RPCOutcome {
	seen := probe.Take()
	o := RPCOutcome{
		Code: res.Code, Message: res.Message, Body: res.Body, Reason: res.Reason, Domain: res.Domain,
		RetryDelay: res.RetryDelay, SetCookie: res.SetCookie, HandlerRuns: seen.Runs,
		SessionError: See(seen.SessionError), Errors: seeAll(seen.Errors), Ory: env.Ory.Requests(),
	}
	for k, v := range res.Metadata {
		if k == core.RPCMetadataRedirect {
			o.Redirect = ParseLocation(v)
		} else {
			o.OtherMetadata++
		}
	}
	if a := seen.Accessor; a.OK && a.Session != nil {
		o.SessionID, o.Email = a.Session.Id, Email(a.Session)
	}
	if cx := seen.Context; cx.OK && cx.Session != nil {
		o.ContextSessionID = cx.Session.Id
	}
	return o
}

// tupleString is tu as namespace:object#relation@subject, the subject an
// ID or a subject set (namespace:object#relation).
func tupleString(tu orytest.Tuple) string {
	subject := tu.SubjectID
	if tu.SetNamespace != "" {
		subject = tu.SetNamespace + ":" + tu.SetObject + "#" + tu.SetRelation
	}
	return tu.Namespace + ":" + tu.Object + "#" + tu.Relation + "@" + subject
}

// diffRPC lists, field by field, where got differs from want.
func diffRPC(want, got RPCOutcome) string {
	var b strings.Builder
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := range wv.NumField() {
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		if !reflect.DeepEqual(w, g) {
			fmt.Fprintf(&b, "  %s:\n    got:  %s\n    want: %s\n", wv.Type().Field(i).Name, Show(g), Show(w))
		}
	}
	return b.String()
}
