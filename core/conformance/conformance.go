package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// Server serves one request through a framework and returns the complete
// response.
type Server func(*http.Request) (*http.Response, error)

// Recorder serves requests with h through an httptest.ResponseRecorder.
func Recorder(h http.Handler) Server {
	return func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	}
}

// ListenHTTP serves h on a loopback port with net/http's server until the
// test ends and returns its address (host:port): Target.Listen for a
// framework that is an http.Handler.
func ListenHTTP(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// Target mounts one framework adapter for the suite. Each method builds a
// fresh app that serves every path (a catch-all route).
type Target interface {
	// Name names the adapter in test output, e.g. "gin".
	Name() string

	// Protected mounts the adapter's short form, Middleware(guard,
	// opts...), in front of the protected handler: a handler that reads the
	// session through the adapter's own accessor (orygin.Session,
	// oryecho.Session, ...) and through core.SessionFromContext on the
	// request's (or Fiber's user) context, and the adapter's SessionError
	// accessor, passes all three to probe.Observe, and answers 200 with
	// Content-Type ProtectedContentType and the body Observe returned.
	Protected(guard *core.Guard, opts []core.Option, probe *Probe) Server

	// ProtectedWithConfig mounts the adapter's config form
	// (MiddlewareWithConfig, or New for Fiber) in front of the same
	// protected handler, with Options cfg.Options and, when they are set,
	// a Skipper (Next) that returns cfg.Skip(request path) and an
	// ErrorHandler that calls cfg.ErrorHandler(err) and carries out the
	// Page it returns (see Page).
	ProtectedWithConfig(guard *core.Guard, cfg TargetConfig, probe *Probe) Server

	// Refresh mounts the adapter's RefreshHandler.
	Refresh(guard *core.Guard) Server

	// Logout mounts the adapter's LogoutHandler.
	Logout(guard *core.Guard) Server

	// Listen serves what Protected(guard, nil, probe) mounts on a real
	// server listening on a loopback port until the test ends, and returns
	// its address (host:port). The hostile-input suite writes raw bytes to
	// it, since servers parse request targets and headers differently
	// (fasthttp, under Fiber, is not net/http). ListenHTTP does this for
	// an http.Handler.
	Listen(t *testing.T, guard *core.Guard, probe *Probe) (addr string)
}

// ErrorReturner is implemented by a Target whose framework takes errors
// from middleware (Echo's HTTPErrorHandler, Fiber's Config.ErrorHandler).
// Its ProtectedWithConfig sets the framework's own error handler to one
// that calls probe.FrameworkError(err) and writes the Page it returns, and
// its ErrorHandler returns err when the Page says Return. The suite then
// checks that such an error reaches the framework's handler exactly once,
// and that the default error handler never reaches it.
type ErrorReturner interface {
	Target
	// ReturnsErrors marks the target; it does nothing.
	ReturnsErrors()
}

// TargetConfig is the config form's settings, framework-neutral.
type TargetConfig struct {
	// Options is the route policy.
	Options []core.Option
	// Skip, when set, is the Skipper (Next): it skips the request whose
	// URL path it returns true for. Nil: leave the Skipper unset.
	Skip func(path string) bool
	// ErrorHandler, when set, is what the adapter's ErrorHandler calls with
	// the error it got. Nil: leave the ErrorHandler unset (the adapter's
	// default).
	ErrorHandler func(err error) Page
}

// Page is what a target's ErrorHandler does with the error it got.
type Page struct {
	// Default: pass Err to the adapter's DefaultErrorHandler (and return
	// what it returns). Err is usually the error the ErrorHandler got; some
	// cases pass an error of the app's own, or a nil *core.Denial.
	Default bool
	Err     error
	// Return: return err unrendered to the framework's own error handler
	// (ErrorReturner targets only).
	Return bool
	// Otherwise: answer Status with Content-Type PageContentType and Body.
	Status int
	Body   []byte
}

// Write answers with the page on w (Content-Type PageContentType), for
// targets whose framework hands out an http.ResponseWriter.
func (p Page) Write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", PageContentType)
	w.WriteHeader(p.Status)
	_, _ = w.Write(p.Body)
}

// ProtectedContentType is the Content-Type of the protected handler's
// answer.
const ProtectedContentType = "text/plain; charset=utf-8"

// PageContentType is the Content-Type of the pages the suite's error
// handlers render.
const PageContentType = "text/html; charset=utf-8"

// Lookup is one way of reading the session: what an accessor returned.
type Lookup struct {
	Session *client.Session
	OK      bool
}

// Read packs an accessor's two results, so that a target can write
// probe.Observe(conformance.Read(orygin.Session(c)), conformance.Read(core.SessionFromContext(ctx)), orygin.SessionError(c)).
func Read(s *client.Session, ok bool) Lookup { return Lookup{s, ok} }

// Probe records what the protected handler and the error handlers saw. It
// is safe for concurrent use.
type Probe struct {
	mu   sync.Mutex
	seen Observation
}

// Observation is what a Probe recorded.
type Observation struct {
	// Runs counts the protected handler's runs.
	Runs int
	// Accessor and Context are what the adapter's accessor and
	// core.SessionFromContext returned on the last run; SessionError what
	// the adapter's SessionError accessor returned.
	Accessor, Context Lookup
	SessionError      error
	// Errors are the errors the config form's ErrorHandler got, oldest
	// first; FrameworkErrors those the framework's own error handler got.
	Errors, FrameworkErrors []error
}

// Observe records one run of the protected handler and returns the body the
// handler answers with.
func (p *Probe) Observe(accessor, context Lookup, sessionErr error) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen.Runs++
	p.seen.Accessor, p.seen.Context, p.seen.SessionError = accessor, context, sessionErr
	if accessor.OK && accessor.Session != nil {
		return []byte("protected handler ran with session " + accessor.Session.Id + "\n")
	}
	return []byte("protected handler ran without a session\n")
}

// FrameworkError records an error that reached the framework's own error
// handler and returns the page it answers with: the denial's status (500
// for any other error) and "framework: <status> <reason>".
func (p *Probe) FrameworkError(err error) Page {
	p.mu.Lock()
	p.seen.FrameworkErrors = append(p.seen.FrameworkErrors, err)
	p.mu.Unlock()
	return render("framework", err)
}

// Take returns what the probe recorded and forgets it.
func (p *Probe) Take() Observation {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.seen
	p.seen = Observation{}
	return o
}

// ErrorHandler returns the TargetConfig.ErrorHandler for mode m (nil for
// ErrorsUnset): it records the errors it gets on p (ErrorsPage,
// ErrorsReturn) and tells the target what to do.
func (p *Probe) ErrorHandler(m ErrorMode) func(error) Page {
	switch m {
	case ErrorsDefault:
		return func(err error) Page { return Page{Default: true, Err: err} }
	case errorsAppError:
		return func(error) Page { return Page{Default: true, Err: errAppFailure} }
	case errorsNilDenial:
		return func(error) Page { return Page{Default: true, Err: (*core.Denial)(nil)} }
	case ErrorsPage, ErrorsReturn:
		return func(err error) Page {
			p.mu.Lock()
			p.seen.Errors = append(p.seen.Errors, err)
			p.mu.Unlock()
			if m == ErrorsReturn {
				return Page{Return: true}
			}
			return render("custom", err)
		}
	}
	return nil
}

// render is a recognisable page for err: "<who>: <status> <reason>\n",
// with the denial's status (500 for any other error).
func render(who string, err error) Page {
	status := http.StatusInternalServerError
	var d *core.Denial
	if errors.As(err, &d) && d.Status != 0 {
		status = d.Status
	}
	return Page{Status: status, Body: []byte(fmt.Sprintf("%s: %d %s\n", who, status, reasonName(err)))}
}

// sentinels are core's sentinel errors by name.
var sentinels = []struct {
	Name string
	Err  error
}{
	{"ErrNoSession", core.ErrNoSession},
	{"ErrAAL2Required", core.ErrAAL2Required},
	{"ErrRefreshRequired", core.ErrRefreshRequired},
	{"ErrForbidden", core.ErrForbidden},
	{"ErrRateLimited", core.ErrRateLimited},
	{"ErrOryUnavailable", core.ErrOryUnavailable},
	{"ErrOryTimeout", core.ErrOryTimeout},
	{"ErrBusy", core.ErrBusy},
	{"ErrPermissionDenied", core.ErrPermissionDenied},
	{"ErrPermissionsUnavailable", core.ErrPermissionsUnavailable},
}

// reasonName names the sentinels err unwraps to (errors.Is), joined by
// "+" should there be several; "" when none.
func reasonName(err error) string {
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s.Err) {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, "+")
}

// ErrAppCheck is the error of the suite's app check (verifiedEmail):
// reachable with errors.Is from the denial.
var ErrAppCheck = errors.New("conformance: verified email required")

// Seen is what the suite compares of an error: which sentinel it unwraps
// to, and for a *core.Denial what it carries.
type Seen struct {
	// Reason is reasonName(err).
	Reason string
	// Denial reports whether err is a *core.Denial; the fields below are
	// its own.
	Denial     bool
	Status     int
	Location   *Location
	RetryAfter int
	API        bool
	// AppError reports errors.Is(err, ErrAppCheck).
	AppError bool
}

// See summarises err; nil for nil.
func See(err error) *Seen {
	if err == nil {
		return nil
	}
	s := &Seen{Reason: reasonName(err), AppError: errors.Is(err, ErrAppCheck)}
	var d *core.Denial
	if errors.As(err, &d) {
		s.Denial, s.Status, s.RetryAfter, s.API = true, d.Status, d.RetryAfter, d.API
		if d.Location != "" {
			s.Location = ParseLocation(d.Location)
		}
	}
	return s
}

func seeAll(errs []error) []Seen {
	var out []Seen
	for _, err := range errs {
		out = append(out, *See(err))
	}
	return out
}

func (s *Seen) String() string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%s denial=%v status=%d location=%s retry-after=%d api=%v app-error=%v}",
		s.Reason, s.Denial, s.Status, s.Location, s.RetryAfter, s.API, s.AppError)
}

// Location is a parsed Location header. Query holds the decoded query
// parameters (so return_to is compared decoded, exactly).
type Location struct {
	Scheme, Host, Path string
	Query              url.Values
}

func (l *Location) String() string {
	if l == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s://%s%s %v", l.Scheme, l.Host, l.Path, map[string][]string(l.Query))
}

// Outcome is everything the suite checks about one case on one target.
// The zero value of a field is an expectation too: no header, no run, no
// request to Ory.
type Outcome struct {
	Status      int
	Location    *Location // nil: no Location header
	Body        string    // exact bytes
	ContentType string
	// ContentTypeOptions is the X-Content-Type-Options header.
	ContentTypeOptions string
	RetryAfter         string
	CacheControl       string
	SetCookie          []string

	// HandlerRuns counts how often the protected handler ran.
	HandlerRuns int
	// SessionID and Email are what the handler read through the adapter's
	// own accessor on its last run ("" when it reported no session).
	SessionID string
	Email     string
	// ContextSessionID is what the handler read through
	// core.SessionFromContext on the request (or user) context.
	ContextSessionID string
	// SessionError is what the adapter's SessionError accessor returned on
	// the handler's last run (nil: nil, or the handler did not run).
	SessionError *Seen
	// Errors are the errors the config form's ErrorHandler got (when the
	// case sets one that records), FrameworkErrors those the framework's
	// own error handler got (ErrorReturner targets), oldest first.
	Errors, FrameworkErrors []Seen

	// Ory is every request that reached the fake Ory, oldest first.
	Ory []orytest.Recorded
	// Keto is every tuple the fake Keto was asked about (each of a batch
	// call's), sorted; KetoCalls counts the calls (permissions.go).
	Keto      []orytest.Tuple
	KetoCalls int
}

// Result is an Outcome plus raw details that are compared between targets
// only (the expectation checks their parsed form).
type Result struct {
	Outcome
	RawLocation string
}

// caseEnv is what a case's functions may use.
type caseEnv struct {
	// Ory is the fake Ory server shared by every case and target.
	Ory *orytest.Server
	// Keto is the fake Ory Permissions (Keto) shared likewise; every
	// guard's Config.Permissions.URL points to it.
	Keto *orytest.Keto
	// OryURL is Ory's base URL, OryHost its host:port.
	OryURL, OryHost string
	// ClosedURL is a loopback URL on which nothing listens.
	ClosedURL string
	// Run names the current pass over the table: "cache-off" or "cache-on".
	Run string
	// Cache reports whether the guard's session cache is on in this run.
	Cache bool
}

// Cred returns a credential value that is unique to this run and case, so
// that no answer registered or cached in one run can leak into the other.
func (e *caseEnv) Cred(name string) string { return e.Run + "." + name }

// handler says which of a target's handlers a case exercises.
type handler uint8

// The handlers a case can exercise.
const (
	mountProtected handler = iota // the middleware in front of the probe handler
	mountRefresh                  // RefreshHandler
	mountLogout                   // LogoutHandler
)

// ErrorMode is how the config form's ErrorHandler answers in a case.
type ErrorMode uint8

// Error modes.
const (
	// ErrorsUnset leaves the ErrorHandler unset.
	ErrorsUnset ErrorMode = iota
	// ErrorsDefault hands every error to the adapter's DefaultErrorHandler
	// and records nothing: an app wrapping the default.
	ErrorsDefault
	// ErrorsPage records the error and renders the page
	// "custom: <status> <reason>" with the denial's status.
	ErrorsPage
	// ErrorsReturn records the error and returns it to the framework's own
	// error handler. Only ErrorReturner targets run such a case.
	ErrorsReturn
	// errorsAppError hands DefaultErrorHandler an error of the app's own
	// (errAppFailure) in place of the denial, and records nothing.
	errorsAppError
	// errorsNilDenial hands DefaultErrorHandler a nil *core.Denial, and
	// records nothing.
	errorsNilDenial
)

// errAppFailure is an error of the app's own, which DefaultErrorHandler
// answers with a plain 500.
var errAppFailure = errors.New("conformance: app failure")

// tableCase is one row of the table.
type tableCase struct {
	Name    string
	Handler handler
	// Options is the route policy of the middleware.
	Options []core.Option
	// Skip and Errors configure the config form: its skip predicate on the
	// request path and how its ErrorHandler answers. A case that sets
	// either runs through ProtectedWithConfig alone. Any other Protected
	// case runs three times, through the short form, the config form with
	// no ErrorHandler, and the config form with an ErrorHandler that wraps
	// DefaultErrorHandler (ErrorsDefault), and all three must give Want.
	Skip   func(path string) bool
	Errors ErrorMode
	// Config adjusts the guard's configuration (which starts with OryURL
	// set to the fake server and the run's cache setting).
	Config func(e *caseEnv, cfg *core.Config)
	// Setup registers sessions and replies on e.Ory. Fault injection with
	// ReplyAll is undone after the case.
	Setup func(e *caseEnv)
	// Hold, when set, names a credential (e.Cred(Hold)) that a request sent
	// first, in the background, through a short-form mount on the same
	// guard, carries as X-Session-Token: Ory holds its answer back until
	// Request has been served, so that one whoami lookup stays in flight
	// meanwhile (the lookup limit). Only its request to Ory is part of the
	// outcome.
	Hold string
	// Request builds the request; it is called once per request sent.
	Request func(e *caseEnv) *http.Request
	// Repeat sends the request this many times through the same app and
	// guard (zero means once); the last response is checked.
	Repeat int
	// Before are requests sent first, through handlers of the same guard
	// (a protected request, then a logout, say); their answers are not
	// checked, but what they sent to Ory is part of Want's Ory.
	Before []beforeStep
	// Want is the expected outcome on every target.
	Want func(e *caseEnv) Outcome
}

// beforeStep is one request a case sends before the checked one.
type beforeStep struct {
	// Handler is the handler the request goes through.
	Handler handler
	// Setup, when set, runs just before the request (on every target), for
	// example to register the answer Ory gives now.
	Setup func(e *caseEnv)
	// Request builds the request.
	Request func(e *caseEnv) *http.Request
	// Then, when set, runs after the answer, for example to change what Ory
	// answers next (a step-up in Ory).
	Then func(e *caseEnv)
}

// Run runs the conformance suite through every target: each row of the
// table, once with the session cache off and once with it on, then the
// hostile input on each target's real server (Target.Listen). An adapter
// module's conformance test calls it with its one target; with several,
// Run also checks that they all answer alike.
func Run(t *testing.T, targets ...Target) {
	t.Helper()
	runTable(t, table(), targets...)
	runPermissions(t, targets)
	runHostile(t, targets)
}

// runTable runs cases through every target, with the session cache off and
// on.
func runTable(t *testing.T, cases []tableCase, targets ...Target) {
	t.Helper()
	if len(targets) == 0 {
		t.Fatal("conformance: no targets")
	}
	ory := orytest.NewServer()
	defer ory.Close()
	keto := orytest.NewKeto()
	defer keto.Close()
	// One transport for every guard, so that hundreds of guards do not each
	// keep their own idle connections to the fake server.
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
			env := &caseEnv{Ory: ory, Keto: keto, OryURL: ory.URL, OryHost: oryURL.Host, ClosedURL: closed, Run: run.name, Cache: run.cache.TTL > 0}
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					runCase(t, env, c, run.cache, hc, targets)
				})
			}
		})
	}
}

// mount is one way a case mounts the protected handler.
type mount struct {
	name   string
	config bool // ProtectedWithConfig rather than Protected
	errors ErrorMode
}

func mounts(c tableCase) []mount {
	switch {
	case c.Handler != mountProtected:
		return []mount{{name: "handler"}}
	case c.Skip != nil || c.Errors != ErrorsUnset:
		return []mount{{name: "config form", config: true, errors: c.Errors}}
	}
	return []mount{
		{name: "short form"},
		{name: "config form", config: true},
		{name: "config form wrapping DefaultErrorHandler", config: true, errors: ErrorsDefault},
	}
}

func runCase(t *testing.T, env *caseEnv, c tableCase, cache core.CacheConfig, hc *http.Client, all []Target) {
	env.Ory.ReplyAll(nil)
	defer env.Ory.ReplyAll(nil)
	env.Keto.ReplyAll(nil)
	defer env.Keto.ReplyAll(nil)
	if c.Setup != nil {
		c.Setup(env)
	}
	want := c.Want(env)
	targets := all
	if c.Errors == ErrorsReturn {
		targets = nil
		for _, tg := range all {
			if _, ok := tg.(ErrorReturner); ok {
				targets = append(targets, tg)
			}
		}
		if len(targets) == 0 {
			t.Skip("no target returns errors to its framework")
		}
	}
	for _, m := range mounts(c) {
		results := make([]Result, len(targets))
		for i, tg := range targets {
			cfg := core.Config{
				OryURL:     env.OryURL,
				HTTPClient: hc,
				Cache:      cache,
				Logger:     slog.New(slog.DiscardHandler),
			}
			cfg.Permissions.URL = env.Keto.URL
			if c.Config != nil {
				c.Config(env, &cfg)
			}
			guard, err := core.New(cfg)
			if err != nil {
				t.Fatalf("%s: core.New: %v", tg.Name(), err)
			}
			probe := &Probe{}
			servers := map[handler]Server{}
			mount := func(h handler) Server {
				if srv, ok := servers[h]; ok {
					return srv
				}
				var srv Server
				switch {
				case h == mountRefresh:
					srv = tg.Refresh(guard)
				case h == mountLogout:
					srv = tg.Logout(guard)
				case m.config:
					srv = tg.ProtectedWithConfig(guard, TargetConfig{Options: c.Options, Skip: c.Skip, ErrorHandler: probe.ErrorHandler(m.errors)}, probe)
				default:
					srv = tg.Protected(guard, c.Options, probe)
				}
				servers[h] = srv
				return srv
			}
			var hold Server
			if c.Hold != "" {
				hold = tg.Protected(guard, nil, &Probe{})
			}
			env.Ory.Reset()
			env.Keto.Reset()
			for _, st := range c.Before {
				if err := step(mount(st.Handler), st, env); err != nil {
					t.Fatalf("%s, %s: before: %v", tg.Name(), m.name, err)
				}
			}
			res, err := serve(t, mount(c.Handler), hold, c, env, probe)
			if err != nil {
				t.Fatalf("%s, %s: %v", tg.Name(), m.name, err)
			}
			results[i] = res
			if diff := diffOutcome(want, res.Outcome); diff != "" {
				t.Errorf("%s, %s: result differs from the expectation (got vs want):\n%s", tg.Name(), m.name, diff)
			}
		}
		if diff := diffTargets(targets, results); diff != "" {
			t.Errorf("%s: adapters disagree:\n%s", m.name, diff)
		}
	}
}

// step sends one of a case's Before requests.
func step(srv Server, st beforeStep, env *caseEnv) error {
	if st.Setup != nil {
		st.Setup(env)
	}
	resp, err := srv(st.Request(env))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if st.Then != nil {
		st.Then(env)
	}
	return nil
}

func serve(t *testing.T, srv, hold Server, c tableCase, env *caseEnv, probe *Probe) (Result, error) {
	release, held := make(chan struct{}), make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	if hold != nil {
		env.Ory.Reply(env.Cred(c.Hold), orytest.Reply{Until: release, Body: []byte("{}")})
		go func() {
			defer close(held)
			r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/held", nil)
			r.Header.Set("X-Session-Token", env.Cred(c.Hold))
			if resp, err := hold(r); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		for env.Ory.Calls() == 0 { // until Ory holds the lookup
			select {
			case <-held:
				return Result{}, errors.New("the held request ended before it reached Ory")
			case <-t.Context().Done():
				return Result{}, errors.New("test ended while waiting for the held request")
			case <-time.After(time.Millisecond):
			}
		}
	} else {
		close(held)
	}
	n := max(c.Repeat, 1)
	var resp *http.Response
	var body []byte
	for range n {
		var err error
		resp, err = srv(c.Request(env))
		if err != nil {
			return Result{}, fmt.Errorf("serve: %w", err)
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return Result{}, fmt.Errorf("read body: %w", err)
		}
	}
	res := ReadResponse(resp, body)
	seen := probe.Take()
	res.HandlerRuns = seen.Runs
	if a := seen.Accessor; a.OK && a.Session != nil {
		res.SessionID = a.Session.Id
		res.Email = Email(a.Session)
	}
	if cx := seen.Context; cx.OK && cx.Session != nil {
		res.ContextSessionID = cx.Session.Id
	}
	res.SessionError = See(seen.SessionError)
	res.Errors, res.FrameworkErrors = seeAll(seen.Errors), seeAll(seen.FrameworkErrors)
	res.Ory = env.Ory.Requests()
	res.Keto, res.KetoCalls = ketoAsked(env.Keto)
	if hold != nil {
		close(release) // Ory answers the held lookup
		released = true
		<-held
	}
	return res, nil
}

// ReadResponse fills the parts of a Result that come from the response
// itself: status, body, the compared headers, and Location raw and parsed.
func ReadResponse(resp *http.Response, body []byte) Result {
	var res Result
	res.Status = resp.StatusCode
	res.Body = string(body)
	res.ContentType = strings.Join(resp.Header.Values("Content-Type"), ", ")
	res.ContentTypeOptions = strings.Join(resp.Header.Values("X-Content-Type-Options"), ", ")
	res.RetryAfter = strings.Join(resp.Header.Values("Retry-After"), ", ")
	res.CacheControl = strings.Join(resp.Header.Values("Cache-Control"), ", ")
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		res.SetCookie = slices.Clone(sc)
	}
	if locs := resp.Header.Values("Location"); len(locs) > 0 {
		res.RawLocation = strings.Join(locs, ", ")
		res.Location = ParseLocation(res.RawLocation)
	}
	return res
}

// ParseLocation parses a Location header for comparison: the query
// decoded, nil when empty.
func ParseLocation(raw string) *Location {
	u, err := url.Parse(raw)
	if err != nil {
		return &Location{Path: "unparsable: " + raw}
	}
	l := &Location{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if q := u.Query(); len(q) > 0 {
		l.Query = q
	}
	return l
}

// Email returns the email trait of s, or "" when it has none.
func Email(s *client.Session) string {
	p, err := core.Traits[struct {
		Email string `json:"email"`
	}](s)
	if err != nil {
		return ""
	}
	return p.Email
}

// closedURL returns a loopback URL on which nothing listens.
func closedURL(t *testing.T) string {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// diffOutcome lists, field by field, where got differs from want.
func diffOutcome(want, got Outcome) string {
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

// diffTargets lists every field on which the targets' results differ, with
// each target's value.
func diffTargets(targets []Target, results []Result) string {
	var b strings.Builder
	check := func(name string, value func(Result) any) {
		first := value(results[0])
		same := true
		for _, r := range results[1:] {
			if !reflect.DeepEqual(first, value(r)) {
				same = false
				break
			}
		}
		if same {
			return
		}
		fmt.Fprintf(&b, "  %s:\n", name)
		for i, tg := range targets {
			fmt.Fprintf(&b, "    %-9s %s\n", tg.Name()+":", Show(value(results[i])))
		}
	}
	ot := reflect.TypeFor[Outcome]()
	for i := range ot.NumField() {
		check(ot.Field(i).Name, func(r Result) any { return reflect.ValueOf(r.Outcome).Field(i).Interface() })
	}
	check("RawLocation", func(r Result) any { return r.RawLocation })
	return b.String()
}

// Show renders an Outcome field for a failure message: strings quoted,
// Locations and the requests Ory received spelled out.
func Show(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case *Location:
		return v.String()
	case *Seen:
		return v.String()
	case []Seen:
		if len(v) == 0 {
			return "<none>"
		}
		parts := make([]string, len(v))
		for i := range v {
			parts[i] = v[i].String()
		}
		return strings.Join(parts, " ")
	case []orytest.Recorded:
		if len(v) == 0 {
			return "<no requests>"
		}
		parts := make([]string, len(v))
		for i, r := range v {
			parts[i] = fmt.Sprintf("{%s Cookie=%q X-Session-Token=%q Authorization=%q}", r.Path, r.Cookie, r.SessionToken, r.Authorization)
		}
		return strings.Join(parts, " ")
	case []orytest.Tuple:
		return showTuples(v)
	}
	return fmt.Sprintf("%#v", v)
}
