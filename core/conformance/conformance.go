// Package conformance is oryguard's adapter conformance suite: one table of
// request/Ory-answer/route-policy cases that every framework adapter must
// answer identically, byte for byte where it matters.
//
// An adapter proves itself by implementing Target (a few lines that mount
// its middleware, RefreshHandler and LogoutHandler in front of a probe
// handler) and calling Run. Run serves every case through every target
// against one fake Ory server (core/orytest), checks each result against the
// case's explicit expectation, and then checks that all targets produced the
// same result, printing a per-field diff when they do not. The whole table
// runs twice: with the session cache off and with it on.
package conformance

import (
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

// Target mounts one framework adapter for the suite. Each method builds a
// fresh app that serves every path (a catch-all route).
type Target interface {
	// Name names the adapter in test output, e.g. "gin".
	Name() string

	// Protected mounts the adapter's middleware, built with guard and opts,
	// in front of a protected handler. The handler reads the session through
	// the adapter's own accessor (orygin.Session, oryecho.Session, ...) and
	// through core.SessionFromContext on the request's (or Fiber's user)
	// context, passes both to probe.Observe, and answers 200 with
	// Content-Type ProtectedContentType and the body Observe returned.
	Protected(guard *core.Guard, opts []core.Option, probe *Probe) Server

	// Refresh mounts the adapter's RefreshHandler.
	Refresh(guard *core.Guard) Server

	// Logout mounts the adapter's LogoutHandler.
	Logout(guard *core.Guard) Server
}

// ProtectedContentType is the Content-Type of the protected handler's
// answer.
const ProtectedContentType = "text/plain; charset=utf-8"

// Lookup is one way of reading the session: what an accessor returned.
type Lookup struct {
	Session *client.Session
	OK      bool
}

// Read packs an accessor's two results, so that a target can write
// probe.Observe(suite.Read(orygin.Session(c)), suite.Read(core.SessionFromContext(ctx))).
func Read(s *client.Session, ok bool) Lookup { return Lookup{s, ok} }

// Probe records what the protected handler saw. It is safe for concurrent
// use.
type Probe struct {
	mu       sync.Mutex
	runs     int
	accessor Lookup
	context  Lookup
}

// Observe records one run of the protected handler and returns the body the
// handler answers with.
func (p *Probe) Observe(accessor, context Lookup) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs++
	p.accessor, p.context = accessor, context
	if accessor.OK && accessor.Session != nil {
		return []byte("protected handler ran with session " + accessor.Session.Id + "\n")
	}
	return []byte("protected handler ran without a session\n")
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
	Status       int
	Location     *Location // nil: no Location header
	Body         string    // exact bytes
	ContentType  string
	RetryAfter   string
	CacheControl string
	SetCookie    []string

	// HandlerRuns counts how often the protected handler ran.
	HandlerRuns int
	// SessionID and Email are what the handler read through the adapter's
	// own accessor on its last run ("" when it reported no session).
	SessionID string
	Email     string
	// ContextSessionID is what the handler read through
	// core.SessionFromContext on the request (or user) context.
	ContextSessionID string

	// Ory is every request that reached the fake Ory, oldest first.
	Ory []orytest.Recorded
}

// Result is an Outcome plus raw details that are compared between targets
// only (the expectation checks their parsed form).
type Result struct {
	Outcome
	RawLocation string
}

// Env is what a case's functions may use.
type Env struct {
	// Ory is the fake Ory server shared by every case and target.
	Ory *orytest.Server
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
func (e *Env) Cred(name string) string { return e.Run + "." + name }

// Handler says which of a target's handlers a case exercises.
type Handler uint8

// Handlers a case can exercise.
const (
	Protected Handler = iota // the middleware in front of the probe handler
	Refresh                  // RefreshHandler
	Logout                   // LogoutHandler
)

// Case is one row of the table.
type Case struct {
	Name    string
	Handler Handler
	// Options is the route policy of the middleware.
	Options []core.Option
	// Config adjusts the guard's configuration (which starts with OryURL
	// set to the fake server and the run's cache setting).
	Config func(e *Env, cfg *core.Config)
	// Setup registers sessions and replies on e.Ory. Fault injection with
	// ReplyAll is undone after the case.
	Setup func(e *Env)
	// Request builds the request; it is called once per request sent.
	Request func(e *Env) *http.Request
	// Repeat sends the request this many times through the same app and
	// guard (zero means once); the last response is checked.
	Repeat int
	// Before are requests sent first, through handlers of the same guard
	// (a protected request, then a logout, say); their answers are not
	// checked, but what they sent to Ory is part of Want's Ory.
	Before []Step
	// Want is the expected outcome on every target.
	Want func(e *Env) Outcome
}

// Step is one request a case sends before the checked one.
type Step struct {
	// Handler is the handler the request goes through.
	Handler Handler
	// Setup, when set, runs just before the request (on every target), for
	// example to register the answer Ory gives now.
	Setup func(e *Env)
	// Request builds the request.
	Request func(e *Env) *http.Request
	// Then, when set, runs after the answer, for example to change what Ory
	// answers next (a step-up in Ory).
	Then func(e *Env)
}

// Run runs every case of Cases through every target, once with the session
// cache off and once with it on.
func Run(t *testing.T, targets ...Target) {
	t.Helper()
	RunCases(t, Cases(), targets...)
}

// RunCases is Run with a custom table.
func RunCases(t *testing.T, cases []Case, targets ...Target) {
	t.Helper()
	if len(targets) == 0 {
		t.Fatal("suite: no targets")
	}
	ory := orytest.NewServer()
	defer ory.Close()
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
		{"cache-off", core.CacheConfig{}},
		{"cache-on", core.CacheConfig{TTL: time.Minute}},
	} {
		t.Run(run.name, func(t *testing.T) {
			env := &Env{Ory: ory, OryURL: ory.URL, OryHost: oryURL.Host, ClosedURL: closed, Run: run.name, Cache: run.cache.TTL > 0}
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					runCase(t, env, c, run.cache, hc, targets)
				})
			}
		})
	}
}

func runCase(t *testing.T, env *Env, c Case, cache core.CacheConfig, hc *http.Client, targets []Target) {
	env.Ory.ReplyAll(nil)
	defer env.Ory.ReplyAll(nil)
	if c.Setup != nil {
		c.Setup(env)
	}
	want := c.Want(env)
	results := make([]Result, len(targets))
	for i, tg := range targets {
		cfg := core.Config{
			OryURL:     env.OryURL,
			HTTPClient: hc,
			Cache:      cache,
			Logger:     slog.New(slog.DiscardHandler),
		}
		if c.Config != nil {
			c.Config(env, &cfg)
		}
		guard, err := core.New(cfg)
		if err != nil {
			t.Fatalf("%s: core.New: %v", tg.Name(), err)
		}
		probe := &Probe{}
		servers := map[Handler]Server{}
		mount := func(h Handler) Server {
			if srv, ok := servers[h]; ok {
				return srv
			}
			var srv Server
			switch h {
			case Refresh:
				srv = tg.Refresh(guard)
			case Logout:
				srv = tg.Logout(guard)
			default:
				srv = tg.Protected(guard, c.Options, probe)
			}
			servers[h] = srv
			return srv
		}
		env.Ory.Reset()
		for _, st := range c.Before {
			if err := step(mount(st.Handler), st, env); err != nil {
				t.Fatalf("%s: before: %v", tg.Name(), err)
			}
		}
		res, err := serve(mount(c.Handler), c, env, probe)
		if err != nil {
			t.Fatalf("%s: %v", tg.Name(), err)
		}
		results[i] = res
		if diff := diffOutcome(want, res.Outcome); diff != "" {
			t.Errorf("%s: result differs from the expectation (got vs want):\n%s", tg.Name(), diff)
		}
	}
	if diff := diffTargets(targets, results); diff != "" {
		t.Errorf("adapters disagree:\n%s", diff)
	}
}

// step sends one of a case's Before requests.
func step(srv Server, st Step, env *Env) error {
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

func serve(srv Server, c Case, env *Env, probe *Probe) (Result, error) {
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
	probe.mu.Lock()
	res.HandlerRuns = probe.runs
	if a := probe.accessor; a.OK && a.Session != nil {
		res.SessionID = a.Session.Id
		res.Email = Email(a.Session)
	}
	if cx := probe.context; cx.OK && cx.Session != nil {
		res.ContextSessionID = cx.Session.Id
	}
	probe.mu.Unlock()
	res.Ory = env.Ory.Requests()
	return res, nil
}

// ReadResponse fills the parts of a Result that come from the response
// itself: status, body, the compared headers, and Location raw and parsed.
func ReadResponse(resp *http.Response, body []byte) Result {
	var res Result
	res.Status = resp.StatusCode
	res.Body = string(body)
	res.ContentType = strings.Join(resp.Header.Values("Content-Type"), ", ")
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
	case []orytest.Recorded:
		if len(v) == 0 {
			return "<no requests>"
		}
		parts := make([]string, len(v))
		for i, r := range v {
			parts[i] = fmt.Sprintf("{%s Cookie=%q X-Session-Token=%q Authorization=%q}", r.Path, r.Cookie, r.SessionToken, r.Authorization)
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprintf("%#v", v)
}
