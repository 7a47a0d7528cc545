package flows

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// Run is one pass over the cases: its name and the guards' session cache.
type Run struct {
	Name  string
	Cache core.CacheConfig
}

// Shared is a Kratos that cases take turns on: a case holds the turn while
// it works and lets go of it while it waits (Env.SleepUntil). Kratos'
// in-memory SQLite database (dsn: memory, shared cache) does not wait for
// locks: under concurrent requests it answers writes with 500 "database
// table is locked" and even whoami for a valid session with 401, so cases
// cannot share one Kratos at the same time. (A SQLite file is worse: it
// answers "database is locked" too, and stalls until clients time out.)
type Shared struct {
	Server *harness.Kratos
	turn   chan struct{}
}

// Share makes k a Shared.
func Share(k *harness.Kratos) *Shared {
	return &Shared{Server: k, turn: make(chan struct{}, 1)}
}

func (s *Shared) acquire(t testing.TB) {
	t.Helper()
	select {
	case s.turn <- struct{}{}:
	case <-t.Context().Done():
		t.Fatal("test ended while waiting for its turn on Kratos")
	}
}

func (s *Shared) release() { <-s.turn }

// Env is one case's world: the Kratos it runs against, a recording proxy
// of its own in front of Kratos' public API (so that what one case forwards
// never mixes with another's), and the run's cache setting.
type Env struct {
	Kratos *harness.Kratos
	// Ory is the recording proxy every guard of the case talks to.
	Ory *Recorder
	Run Run

	shared  *Shared
	held    bool
	targets []Target
	hc      *http.Client
}

// NewEnv waits for the case's turn on s and starts its recording proxy;
// the turn and the proxy end with the test.
func NewEnv(t testing.TB, s *Shared, run Run) *Env {
	t.Helper()
	rec, err := NewRecorder(s.Server.PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 10 * time.Second}
	e := &Env{Kratos: s.Server, Ory: rec, Run: run, shared: s, targets: Targets(), hc: &http.Client{Transport: transport}}
	t.Cleanup(func() {
		if e.held {
			e.held = false
			s.release()
		}
		transport.CloseIdleConnections()
		rec.Close()
	})
	s.acquire(t)
	e.held = true
	return e
}

// SleepUntil lets go of the case's turn on Kratos, waits until at, and
// takes a turn again. It fails the test when the test ends first.
func (e *Env) SleepUntil(t testing.TB, at time.Time) {
	t.Helper()
	if time.Until(at) <= 0 {
		return
	}
	e.held = false
	e.shared.release()
	SleepUntil(t, at)
	e.shared.acquire(t)
	e.held = true
}

// Cached reports whether the guards' session cache is on in this run.
func (e *Env) Cached() bool { return e.Run.Cache.TTL > 0 }

// OryURL is the URL the guards use for Ory (the recording proxy).
func (e *Env) OryURL() string { return e.Ory.URL }

// KratosHost is the host:port of Kratos' public API, where Kratos' own
// URLs (redirect_browser_to, logout_url) point.
func (e *Env) KratosHost() string { return strings.TrimPrefix(e.Kratos.PublicURL(), "http://") }

// Guards builds one guard per adapter with the run's cache, Ory at the
// recording proxy, and adjust applied last (nil for none).
func (e *Env) Guards(t testing.TB, adjust func(*core.Config)) *Apps {
	t.Helper()
	a := &Apps{env: e}
	for _, tg := range e.targets {
		cfg := core.Config{
			OryURL:     e.Ory.URL,
			HTTPClient: e.hc,
			Cache:      e.Run.Cache,
			Logger:     slog.New(slog.DiscardHandler),
		}
		if adjust != nil {
			adjust(&cfg)
		}
		g, err := core.New(cfg)
		if err != nil {
			t.Fatalf("%s: core.New: %v", tg.Name(), err)
		}
		a.guards = append(a.guards, g)
	}
	return a
}

// Apps holds one guard per adapter; its mounts share them, as the routes of
// one app share its guard.
type Apps struct {
	env    *Env
	guards []*core.Guard
}

// Protected mounts every adapter's middleware (the short form) with opts.
func (a *Apps) Protected(opts ...core.Option) *Mount {
	m := &Mount{env: a.env}
	for i, tg := range a.env.targets {
		probe := &csuite.Probe{}
		m.servers = append(m.servers, tg.Protected(a.guards[i], opts, probe))
		m.observers = append(m.observers, probe)
	}
	return m
}

// ProtectedWithConfig mounts every adapter's config form with opts and the
// conformance suite's ErrorHandler in mode errors (csuite.ErrorsPage:
// record the denial, render "custom: <status> <reason>").
func (a *Apps) ProtectedWithConfig(errors csuite.ErrorMode, opts ...core.Option) *Mount {
	m := &Mount{env: a.env}
	for i, tg := range a.env.targets {
		probe := &csuite.Probe{}
		cfg := csuite.TargetConfig{Options: opts, ErrorHandler: probe.ErrorHandler(errors)}
		m.servers = append(m.servers, tg.ProtectedWithConfig(a.guards[i], cfg, probe))
		m.observers = append(m.observers, probe)
	}
	return m
}

// Refresh mounts every adapter's RefreshHandler.
func (a *Apps) Refresh() *Mount {
	m := &Mount{env: a.env}
	for i, tg := range a.env.targets {
		m.servers = append(m.servers, tg.Refresh(a.guards[i]))
		m.observers = append(m.observers, nil)
	}
	return m
}

// Logout mounts every adapter's LogoutHandler.
func (a *Apps) Logout() *Mount {
	m := &Mount{env: a.env}
	for i, tg := range a.env.targets {
		m.servers = append(m.servers, tg.Logout(a.guards[i]))
		m.observers = append(m.observers, nil)
	}
	return m
}

// Mount is one route on every adapter.
type Mount struct {
	env       *Env
	servers   []csuite.Server
	observers []*csuite.Probe
}

// Send serves a request built by req on every adapter, one after the
// other.
func (m *Mount) Send(t testing.TB, req func() *http.Request) Results {
	t.Helper()
	return m.Serve(t, func(int) *http.Request { return req() })
}

// Serve serves the request req(i) on adapter i, for every adapter in
// turn, and returns what each answered, what its handler saw and what its
// guard sent to Kratos.
func (m *Mount) Serve(t testing.TB, req func(i int) *http.Request) Results {
	t.Helper()
	out := make(Results, len(m.servers))
	for i, srv := range m.servers {
		m.env.Ory.Take() // forget what others sent through the proxy
		r := Result{Target: m.env.targets[i].Name(), Start: time.Now()}
		resp, err := srv(req(i))
		if err != nil {
			t.Fatalf("%s: serve: %v", r.Target, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: read body: %v", r.Target, err)
		}
		r.End = time.Now()
		read := csuite.ReadResponse(resp, body)
		r.Outcome.Outcome, r.RawLocation = read.Outcome, read.RawLocation
		if o := m.observers[i]; o != nil {
			seen := o.Take()
			r.HandlerRuns = seen.Runs
			r.SessionError = csuite.See(seen.SessionError)
			r.Errors, r.FrameworkErrors = seeAll(seen.Errors), seeAll(seen.FrameworkErrors)
			if a := seen.Accessor; a.OK && a.Session != nil {
				r.SessionID = a.Session.Id
				r.Email = csuite.Email(a.Session)
				r.AAL = AAL(a.Session)
			}
			if c := seen.Context; c.OK && c.Session != nil {
				r.ContextSessionID = c.Session.Id
			}
		}
		r.Ory = m.env.Ory.Take()
		out[i] = r
	}
	return out
}

// Outcome is what a case expects of one answer: the conformance suite's
// Outcome (status, parsed Location, exact body and headers, handler runs,
// the session id and email read through the adapter's accessor and the
// context, and every request that reached Kratos, here through the
// recording proxy) plus the session's AAL as the accessor returned it.
type Outcome struct {
	csuite.Outcome
	AAL string
}

// Result is one adapter's answer.
type Result struct {
	Target string
	Outcome
	// RawLocation is the Location header as sent; adapters must agree on it
	// byte for byte.
	RawLocation string
	// Start and End bracket the request, for cases that depend on time.
	Start, End time.Time
}

// Results holds one Result per adapter, in Targets' order.
type Results []Result

// Each applies f to every result (for example to replace a value that
// differs by design between adapters, such as a logout token) and returns
// rs.
func (rs Results) Each(f func(r *Result)) Results {
	for i := range rs {
		f(&rs[i])
	}
	return rs
}

// First is the first adapter's result.
func (rs Results) First() Result { return rs[0] }

// Expect checks every adapter's outcome against want, field by field, and
// that all adapters answered identically, Location byte for byte.
func (rs Results) Expect(t testing.TB, phase string, want Outcome) {
	t.Helper()
	for _, r := range rs {
		if d := diffOutcome(want, r.Outcome); d != "" {
			t.Errorf("%s: %s: outcome differs from the expectation (got vs want):\n%s", phase, r.Target, d)
		}
	}
	if d := rs.disagreement(); d != "" {
		t.Errorf("%s: adapters disagree:\n%s", phase, d)
	}
}

// disagreement lists every field on which the adapters' results differ.
func (rs Results) disagreement() string {
	var b strings.Builder
	check := func(name string, value func(Result) any) {
		first := value(rs[0])
		for _, r := range rs[1:] {
			if !reflect.DeepEqual(first, value(r)) {
				fmt.Fprintf(&b, "  %s:\n", name)
				for _, r := range rs {
					fmt.Fprintf(&b, "    %-9s %s\n", r.Target+":", csuite.Show(value(r)))
				}
				return
			}
		}
	}
	for _, f := range outcomeFields() {
		check(f.name, func(r Result) any { return f.get(r.Outcome) })
	}
	check("RawLocation", func(r Result) any { return r.RawLocation })
	return b.String()
}

type field struct {
	name string
	get  func(Outcome) any
}

func outcomeFields() []field {
	var out []field
	ot := reflect.TypeFor[csuite.Outcome]()
	for i := range ot.NumField() {
		out = append(out, field{ot.Field(i).Name, func(o Outcome) any { return reflect.ValueOf(o.Outcome).Field(i).Interface() }})
	}
	return append(out, field{"AAL", func(o Outcome) any { return o.AAL }})
}

func diffOutcome(want, got Outcome) string {
	var b strings.Builder
	for _, f := range outcomeFields() {
		w, g := f.get(want), f.get(got)
		if !reflect.DeepEqual(w, g) {
			fmt.Fprintf(&b, "  %s:\n    got:  %s\n    want: %s\n", f.name, csuite.Show(g), csuite.Show(w))
		}
	}
	return b.String()
}

func seeAll(errs []error) []csuite.Seen {
	var out []csuite.Seen
	for _, err := range errs {
		out = append(out, *csuite.See(err))
	}
	return out
}

// ParseLocation parses a Location header as the conformance suite does.
var ParseLocation = csuite.ParseLocation

// Concurrently runs fn(t, i) for every name as subtests of t, all at once,
// and returns when all have ended. Unlike t.Parallel it is not bounded by
// -parallel (GOMAXPROCS by default): the cases mostly wait, on Kratos and
// on clocks (cache TTLs, authentication ages), so running them all at once
// is what keeps the suite short on a small machine.
func Concurrently(t *testing.T, names []string, fn func(t *testing.T, i int)) {
	t.Helper()
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { t.Run(name, func(t *testing.T) { fn(t, i) }) })
	}
	wg.Wait()
}

// SleepUntil waits until at, or fails the test when it ends first.
func SleepUntil(t testing.TB, at time.Time) {
	t.Helper()
	d := time.Until(at)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-t.Context().Done():
		t.Fatal("test ended while waiting")
	}
}
