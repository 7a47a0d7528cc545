package oryotel

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/oryguard/oryguard/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/oryguard/oryguard/adapters/otel"

// Metric names (stable; see the README).
const (
	MetricDecisions      = "oryguard.decisions"
	MetricWhoamiDuration = "oryguard.whoami.duration"
	MetricCacheLookups   = "oryguard.cache.lookups"
	MetricInFlight       = "oryguard.lookups.in_flight"
	MetricCacheEntries   = "oryguard.cache.entries"
)

// Attribute keys of the metrics and the whoami span.
const (
	// OutcomeKey labels oryguard.decisions: allowed, allowed_anonymous or a
	// denial reason (core.Outcome.String).
	OutcomeKey = attribute.Key("oryguard.outcome")
	// WhoamiResultKey labels oryguard.whoami.duration and the whoami span
	// (core.WhoamiResult.String).
	WhoamiResultKey = attribute.Key("oryguard.whoami.result")
	// CacheResultKey labels oryguard.cache.lookups: hit, miss or stale.
	CacheResultKey = attribute.Key("oryguard.cache.result")
	// SessionIDKey and IdentityIDKey are set on the whoami span only with
	// WithSessionIDs.
	SessionIDKey  = attribute.Key("oryguard.session.id")
	IdentityIDKey = attribute.Key("oryguard.identity.id")
)

// whoamiBuckets are the histogram bounds in seconds, those OpenTelemetry's
// HTTP semantic conventions recommend for http.client.request.duration.
var whoamiBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Observer implements core.Observer with OpenTelemetry metrics and traces.
// Build it with New and set it as core.Config.Observer; one Observer may
// serve several guards. It is safe for concurrent use.
type Observer struct {
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	ids     bool
	baggage bool

	whoami   metric.Float64Histogram
	inFlight metric.Int64UpDownCounter

	// Permission checks (permission.go).
	permChecks   metric.Int64Counter
	permDuration metric.Float64Histogram
	permSets     sync.Map // permLabel -> attribute.Set
	objects      bool

	// The hit path only adds to these (one atomic add each); the SDK reads
	// them when it collects, through observable counters.
	decisions [core.NumOutcomes]paddedCount
	lookups   [core.NumCacheResults]paddedCount

	// Options with the attribute set of every label value, built once so
	// that recording allocates nothing.
	decisionOpts [core.NumOutcomes][]metric.ObserveOption
	cacheOpts    [core.NumCacheResults][]metric.ObserveOption
	resultAttrs  [core.NumWhoamiResults]attribute.KeyValue
	whoamiOpts   sync.Map // whoamiLabel -> []metric.RecordOption
	spanOpts     sync.Map // Ory whoami URL -> []trace.SpanStartOption

	mu     sync.Mutex
	guards []weak.Pointer[core.Guard]
}

var _ core.Observer = (*Observer)(nil)

// paddedCount is a counter on its own cache line, so that cores counting
// different outcomes do not slow each other down.
type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

type config struct {
	mp      metric.MeterProvider
	tp      trace.TracerProvider
	prop    propagation.TextMapPropagator
	ids     bool
	baggage bool
	objects bool
}

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider sets the meter provider. The default is the global one
// (otel.GetMeterProvider) at the time New is called.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// WithTracerProvider sets the tracer provider. The default is the global one
// (otel.GetTracerProvider) at the time New is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithPropagators sets the propagators that put the whoami span's context
// (traceparent) on the request to Ory. The default is the global one
// (otel.GetTextMapPropagator) at the time of each call. Whatever they are,
// they only ever see the whoami span's trace and span IDs and its sampled
// flag: the incoming request's tracestate and baggage are not theirs to
// forward (see WithBaggage).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.prop = p
		}
	})
}

// WithSessionIDs records the session ID and the identity ID of a verified
// session on the whoami span (oryguard.session.id, oryguard.identity.id).
// Off by default: they identify a user. They are never metric labels, and no
// credential or identity trait is ever recorded.
func WithSessionIDs() Option {
	return optionFunc(func(c *config) { c.ids = true })
}

// WithBaggage forwards the request context's OpenTelemetry baggage to Ory
// through the propagators (the W3C baggage header if they include
// propagation.Baggage). Off by default: baggage usually comes from the
// client that called the app, and nothing of the incoming request but the
// credential should reach Ory unless the app chooses so. Turn it on only
// when the app sets or vets the baggage in its contexts itself.
func WithBaggage() Option {
	return optionFunc(func(c *config) { c.baggage = true })
}

// New returns an Observer on the global providers unless options give
// others. Instruments that cannot be created are reported to otel.Handle and
// replaced by no-op ones, as in OpenTelemetry Go contrib.
func New(opts ...Option) *Observer {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	o := &Observer{
		tracer:  c.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version)),
		prop:    c.prop,
		ids:     c.ids,
		baggage: c.baggage,
		objects: c.objects,
	}
	for i := range o.decisionOpts {
		o.decisionOpts[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(OutcomeKey.String(core.Outcome(i).String())))}
	}
	for i := range o.cacheOpts {
		o.cacheOpts[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(CacheResultKey.String(core.CacheResult(i).String())))}
	}
	for i := range o.resultAttrs {
		o.resultAttrs[i] = WhoamiResultKey.String(core.WhoamiResult(i).String())
	}

	meter := c.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	var err error
	if _, err = meter.Int64ObservableCounter(MetricDecisions,
		metric.WithDescription("Requests the guard decided, by outcome (allowed, allowed_anonymous or the denial reason)."),
		metric.WithUnit("{request}"),
		metric.WithInt64Callback(func(_ context.Context, obs metric.Int64Observer) error {
			for i := range o.decisions {
				obs.Observe(o.decisions[i].Load(), o.decisionOpts[i]...)
			}
			return nil
		})); err != nil {
		otel.Handle(err)
	}
	if _, err = meter.Int64ObservableCounter(MetricCacheLookups,
		metric.WithDescription("Looks in the session cache, by result (hit, miss, stale)."),
		metric.WithUnit("{lookup}"),
		metric.WithInt64Callback(func(_ context.Context, obs metric.Int64Observer) error {
			for i := range o.lookups {
				obs.Observe(o.lookups[i].Load(), o.cacheOpts[i]...)
			}
			return nil
		})); err != nil {
		otel.Handle(err)
	}
	if o.whoami, err = meter.Float64Histogram(MetricWhoamiDuration,
		metric.WithDescription("Duration of whoami calls to Ory, by result and HTTP status."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(whoamiBuckets...)); err != nil {
		otel.Handle(err)
	}
	if o.inFlight, err = meter.Int64UpDownCounter(MetricInFlight,
		metric.WithDescription("Whoami calls to Ory in flight."),
		metric.WithUnit("{call}")); err != nil {
		otel.Handle(err)
	}
	if _, err = meter.Int64ObservableGauge(MetricCacheEntries,
		metric.WithDescription("Sessions held in the guards' caches."),
		metric.WithUnit("{session}"),
		metric.WithInt64Callback(o.observeEntries)); err != nil {
		otel.Handle(err)
	}
	o.initPermissions(meter)
	o.noopFallback()
	return o
}

// Attach implements core.Observer: the guard's cache counts towards
// oryguard.cache.entries for as long as the guard is in use.
func (o *Observer) Attach(g *core.Guard) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.guards = append(o.guards, weak.Make(g))
}

func (o *Observer) observeEntries(_ context.Context, obs metric.Int64Observer) error {
	obs.Observe(int64(o.sumGuards((*core.Guard).CacheEntries)))
	return nil
}

// sumGuards adds up f over the guards still in use, and forgets the others.
func (o *Observer) sumGuards(f func(*core.Guard) int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	total, live := 0, o.guards[:0]
	for _, w := range o.guards {
		if g := w.Value(); g != nil {
			total += f(g)
			live = append(live, w)
		}
	}
	clear(o.guards[len(live):])
	o.guards = live
	return total
}

// Decision implements core.Observer: one atomic add.
func (o *Observer) Decision(_ context.Context, out core.Outcome) {
	if int(out) < len(o.decisions) {
		o.decisions[out].Add(1)
	}
}

// CacheLookup implements core.Observer: one atomic add.
func (o *Observer) CacheLookup(_ context.Context, r core.CacheResult) {
	if int(r) < len(o.lookups) {
		o.lookups[r].Add(1)
	}
}

// LookupRefused implements core.Observer. Refusals are counted as
// oryguard.decisions with outcome busy; nothing else is recorded.
func (o *Observer) LookupRefused(context.Context) {}

// WhoamiStart implements core.Observer: it starts the client span of the
// call, a child of the span in ctx, and counts the call in flight.
func (o *Observer) WhoamiStart(ctx context.Context, w core.WhoamiRequest) context.Context {
	o.inFlight.Add(ctx, 1)
	ctx, _ = o.tracer.Start(ctx, spanName(w), o.spanStart(w)...)
	return ctx
}

// WhoamiDone implements core.Observer: it ends the span, records the
// duration and counts the call out of flight.
func (o *Observer) WhoamiDone(ctx context.Context, w core.WhoamiCall) {
	o.inFlight.Add(ctx, -1)
	o.whoami.Record(ctx, w.Duration.Seconds(), o.recordOpts(w)...)
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		return
	}
	result := o.result(w.Result)
	if w.Status > 0 {
		span.SetAttributes(result, semconv.HTTPResponseStatusCode(w.Status))
	} else {
		span.SetAttributes(result)
	}
	if o.ids && w.SessionID != "" {
		span.SetAttributes(SessionIDKey.String(w.SessionID), IdentityIDKey.String(w.IdentityID))
	}
	if errorType := failure(w); errorType != "" {
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType))
		span.SetStatus(codes.Error, w.Result.String())
	}
	span.End()
}

// InjectHeaders implements core.Observer: the propagators write the whoami
// span's trace context (traceparent) into h, and nothing else of ctx. The
// span's tracestate is left out, as it is inherited from the incoming
// request's (a client's choice, not the app's), and so is the baggage
// unless WithBaggage was given.
func (o *Observer) InjectHeaders(ctx context.Context, h http.Header) {
	p := o.prop
	if p == nil {
		p = otel.GetTextMapPropagator()
	}
	out := context.Background()
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		out = trace.ContextWithSpanContext(out, sc.WithTraceState(trace.TraceState{}))
	}
	if o.baggage {
		if b := baggage.FromContext(ctx); b.Len() > 0 {
			out = baggage.ContextWithBaggage(out, b)
		}
	}
	p.Inject(out, propagation.HeaderCarrier(h))
}

// failure is the error.type of a call that failed, or "". Answers about the
// session (401, 403) are not failures of the call; 429, 5xx, unreachable and
// timeouts are.
func failure(w core.WhoamiCall) string {
	switch w.Result {
	case core.WhoamiRateLimited, core.WhoamiError:
		if w.Status >= 400 {
			return strconv.Itoa(w.Status)
		}
		return w.Result.String()
	case core.WhoamiTimeout:
		return w.Result.String()
	}
	return ""
}

func (o *Observer) result(r core.WhoamiResult) attribute.KeyValue {
	if int(r) < len(o.resultAttrs) {
		return o.resultAttrs[r]
	}
	return WhoamiResultKey.String(r.String())
}

type whoamiLabel struct {
	result core.WhoamiResult
	status int
}

// recordOpts returns the histogram options of a call's labels, built once
// per (result, status).
func (o *Observer) recordOpts(w core.WhoamiCall) []metric.RecordOption {
	l := whoamiLabel{w.Result, w.Status}
	if v, ok := o.whoamiOpts.Load(l); ok {
		return v.([]metric.RecordOption)
	}
	attrs := []attribute.KeyValue{o.result(w.Result)}
	if w.Status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(w.Status))
	}
	opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
	v, _ := o.whoamiOpts.LoadOrStore(l, opts)
	return v.([]metric.RecordOption)
}

func spanName(w core.WhoamiRequest) string {
	if w.Method == http.MethodGet {
		return "GET /sessions/whoami"
	}
	return w.Method + " /sessions/whoami"
}

// spanStart returns the span options for calls to one Ory URL, built once:
// OpenTelemetry's HTTP client attributes. url.full is the whoami URL
// without user info, query or fragment (the credential travels in headers
// and is never recorded).
func (o *Observer) spanStart(w core.WhoamiRequest) []trace.SpanStartOption {
	if v, ok := o.spanOpts.Load(w.URL); ok {
		return v.([]trace.SpanStartOption)
	}
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(w.Method), semconv.URLTemplate("/sessions/whoami")}
	if u, err := url.Parse(w.URL); err == nil {
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		attrs = append(attrs, semconv.URLFull(u.String()), semconv.ServerAddress(u.Hostname()))
		if port := portOf(u); port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
	v, _ := o.spanOpts.LoadOrStore(w.URL, opts)
	return v.([]trace.SpanStartOption)
}

func portOf(u *url.URL) int {
	if _, p, err := net.SplitHostPort(u.Host); err == nil {
		n, _ := strconv.Atoi(p)
		return n
	}
	switch u.Scheme {
	case "https":
		return 443
	case "http":
		return 80
	}
	return 0
}

// noopFallback replaces instruments a meter failed to create.
func (o *Observer) noopFallback() {
	var nm noop.Meter
	if o.whoami == nil {
		o.whoami, _ = nm.Float64Histogram(MetricWhoamiDuration)
	}
	if o.inFlight == nil {
		o.inFlight, _ = nm.Int64UpDownCounter(MetricInFlight)
	}
}
