package oryotel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/ory/client-go"
	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Credentials used in the run; no telemetry may ever contain them.
const (
	goodCookie = "MTc2NDI0NjU3MXxEWDhFQVFMX2dBQUJFQUVRQUFCZl80QUFBUVp6ZEhKcGJtY01CUUFEYzJsa0JuTjBjbWx1Wnd3aUFDQnJWRlJ2VVVnM1JHbDJaazlQUW5WVFlVdGpSbEJZTlRGdk4zbFdURmhxVlE9PXwX"
	goodToken  = "ory_st_kTdvYbkLcEQ1Q8y3wXW2i2VnXQuBtJbK"
	otherValue = "ory_st_otherCredentialValue0123456789ab"
	email      = "secret-trait@example.com"
)

// rig is a guard with oryotel attached to an SDK meter provider (manual
// reader) and tracer provider (in-memory span recorder), in front of a fake
// Ory behind a proxy that records the headers reaching it.
type rig struct {
	t       *testing.T
	ory     *orytest.Server
	reader  *sdkmetric.ManualReader
	spans   *tracetest.SpanRecorder
	tp      *sdktrace.TracerProvider
	guard   *core.Guard
	mu      sync.Mutex
	headers []http.Header // of every request that reached Ory
}

func newRig(t *testing.T, mutate func(*core.Config), opts ...oryotel.Option) *rig {
	t.Helper()
	r := &rig{t: t, ory: orytest.NewServer(), reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	t.Cleanup(r.ory.Close)
	target, _ := url.Parse(r.ory.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // calls the guard gives up on are expected
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = r.tp.Shutdown(context.Background()) })
	obs := oryotel.New(append([]oryotel.Option{
		oryotel.WithMeterProvider(mp), oryotel.WithTracerProvider(r.tp),
		oryotel.WithPropagators(propagation.TraceContext{}),
	}, opts...)...)
	cfg := core.Config{
		OryURL: front.URL, Timeout: 2 * time.Second, Observer: obs,
		Logger: slog.New(slog.DiscardHandler),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.guard = g
	r.ory.Session(goodCookie, orytest.ActiveSession("sess-1", email))
	r.ory.Session(goodToken, orytest.ActiveSession("sess-1", email))
	return r
}

// metrics collects what the SDK holds now.
func (r *rig) metrics() metricdata.ResourceMetrics {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		r.t.Fatal(err)
	}
	return rm
}

func find(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// counts returns an int64 sum's value per value of key.
func counts(t *testing.T, rm metricdata.ResourceMetrics, name string, key attribute.Key) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, ok := find(rm, name)
	if !ok {
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T, want an int64 sum", name, m.Data)
	}
	for _, dp := range sum.DataPoints {
		v, _ := dp.Attributes.Value(key)
		if dp.Value != 0 {
			out[v.String()] += dp.Value
		}
	}
	return out
}

// whoamiCalls returns the number of recorded whoami durations per
// "result status" label pair (status "-" when absent).
func whoamiCalls(t *testing.T, rm metricdata.ResourceMetrics) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	m, ok := find(rm, oryotel.MetricWhoamiDuration)
	if !ok {
		return out
	}
	if m.Unit != "s" {
		t.Errorf("whoami duration unit %q, want s", m.Unit)
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T, want a float64 histogram", m.Name, m.Data)
	}
	for _, dp := range h.DataPoints {
		res, _ := dp.Attributes.Value(oryotel.WhoamiResultKey)
		status := "-"
		if v, ok := dp.Attributes.Value("http.response.status_code"); ok {
			status = v.String()
		}
		if dp.Count > 0 && dp.Sum <= 0 {
			t.Errorf("whoami %s %s: durations sum to %v", res.String(), status, dp.Sum)
		}
		out[res.String()+" "+status] += dp.Count
	}
	return out
}

func gauge(t *testing.T, rm metricdata.ResourceMetrics, name string) int64 {
	t.Helper()
	m, ok := find(rm, name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	g, ok := m.Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 {
		t.Fatalf("%s is %T %+v", name, m.Data, m.Data)
	}
	return g.DataPoints[0].Value
}

// scan fails the test if any recorded metric attribute, span name,
// attribute, event, link or status holds a credential or an identity trait.
func (r *rig) scan() {
	r.t.Helper()
	secrets := []string{goodCookie, goodToken, otherValue, email}
	check := func(where, s string) {
		for _, v := range secrets {
			if strings.Contains(s, v) {
				r.t.Errorf("%s holds a credential or trait: %q", where, s)
			}
		}
	}
	checkAttrs := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			check(where+" "+string(kv.Key), string(kv.Key)+"="+kv.Value.String())
		}
	}
	rm := r.metrics()
	checkAttrs("resource", rm.Resource.Attributes())
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			check("metric", m.Name+" "+m.Description)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					checkAttrs(m.Name, dp.Attributes.ToSlice())
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					checkAttrs(m.Name, dp.Attributes.ToSlice())
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					checkAttrs(m.Name, dp.Attributes.ToSlice())
					for _, ex := range dp.Exemplars {
						checkAttrs(m.Name+" exemplar", ex.FilteredAttributes)
					}
				}
			default:
				r.t.Errorf("metric %s has unexpected data %T", m.Name, m.Data)
			}
		}
	}
	for _, s := range r.spans.Ended() {
		check("span name", s.Name())
		checkAttrs("span", s.Attributes())
		check("span status", s.Status().Description)
		for _, e := range s.Events() {
			check("span event", e.Name)
			checkAttrs("span event", e.Attributes)
		}
		for _, l := range s.Links() {
			checkAttrs("span link", l.Attributes)
		}
	}
}

func cookieReq(value string) *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/p", Accept: "text/html", Cookies: []string{"theme=dark; ory_kratos_session=" + value}}
}

func tokenReq(value string) *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/api", SessionToken: value}
}

func sessionJSON(t *testing.T, s client.Session) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var errUnverified = errors.New("email not verified")

// Each outcome of the conformance cases increments exactly its own
// counter once, and each whoami call records one duration with its result.
func TestEachOutcomeCountedOnce(t *testing.T) {
	old := orytest.ActiveSession("sess-old", email)
	longAgo := time.Now().Add(-2 * time.Hour)
	old.AuthenticatedAt = &longAgo
	expired := orytest.ActiveSession("sess-exp", email)
	past := time.Now().Add(-time.Minute)
	expired.ExpiresAt = &past

	cases := []struct {
		outcome string
		whoami  string // "result status", "" when Ory is not asked
		mutate  func(*core.Config)
		opts    []core.Option
		reply   *orytest.Reply // for otherValue
		req     *core.Request
	}{
		{outcome: "allowed", whoami: "session 200", req: cookieReq(goodCookie)},
		{outcome: "allowed", whoami: "session 200", req: tokenReq(goodToken)},
		{outcome: "allowed_anonymous", opts: []core.Option{core.Optional()}, req: cookieReq("")},
		{outcome: "allowed_anonymous", whoami: "error 503", opts: []core.Option{core.Optional()}, reply: &orytest.Reply{Status: 503}, req: tokenReq(otherValue)},
		{outcome: "no_session", req: &core.Request{Method: http.MethodGet, URI: "/p"}},
		{outcome: "no_session", whoami: "no_session 401", reply: &orytest.Reply{Status: 401, Body: orytest.Unauthorized()}, req: cookieReq(otherValue)},
		{outcome: "no_session", whoami: "no_session 200", reply: &orytest.Reply{Body: sessionJSON(t, expired)}, req: tokenReq(otherValue)},
		{outcome: "aal2_required", whoami: "aal2_required 403", reply: &orytest.Reply{Status: 403, Body: orytest.AAL2Required("")}, req: cookieReq(otherValue)},
		{outcome: "aal2_required", whoami: "session 200", opts: []core.Option{core.RequireAAL2()}, req: tokenReq(goodToken)},
		{outcome: "refresh_required", whoami: "session 200", opts: []core.Option{core.MaxAuthAge(time.Hour)}, reply: &orytest.Reply{Body: sessionJSON(t, old)}, req: cookieReq(otherValue)},
		{outcome: "forbidden", whoami: "forbidden 403", reply: &orytest.Reply{Status: 403, Body: []byte(`{"error":{"code":403,"status":"Forbidden"}}`)}, req: tokenReq(otherValue)},
		{outcome: "forbidden", whoami: "session 200", opts: []core.Option{core.Check(func(context.Context, *client.Session) error { return errUnverified })}, req: cookieReq(goodCookie)},
		{outcome: "rate_limited", whoami: "rate_limited 429", reply: &orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}}, req: cookieReq(otherValue)},
		{outcome: "ory_unavailable", whoami: "error 500", reply: &orytest.Reply{Status: 500}, req: tokenReq(otherValue)},
		{outcome: "ory_unavailable", whoami: "error 200", reply: &orytest.Reply{Body: []byte(`{not json`)}, req: tokenReq(otherValue)},
		{outcome: "ory_timeout", whoami: "timeout -", mutate: func(c *core.Config) { c.Timeout = 100 * time.Millisecond }, reply: &orytest.Reply{Hang: true}, req: cookieReq(otherValue)},
	}
	for _, tc := range cases {
		t.Run(tc.outcome+" "+tc.whoami, func(t *testing.T) {
			r := newRig(t, tc.mutate, oryotel.WithSessionIDs())
			if tc.reply != nil {
				r.ory.Reply(otherValue, *tc.reply)
			}
			d := r.guard.Route(tc.opts...).Authenticate(context.Background(), tc.req)
			if got := core.OutcomeOf(&d).String(); got != tc.outcome {
				t.Fatalf("the guard decided %s, the case expects %s", got, tc.outcome)
			}
			rm := r.metrics()
			if got := counts(t, rm, oryotel.MetricDecisions, oryotel.OutcomeKey); len(got) != 1 || got[tc.outcome] != 1 {
				t.Errorf("decisions %v, want exactly {%s: 1}", got, tc.outcome)
			}
			calls := whoamiCalls(t, rm)
			switch {
			case tc.whoami == "" && len(calls) != 0:
				t.Errorf("whoami durations %v, want none", calls)
			case tc.whoami != "" && (len(calls) != 1 || calls[tc.whoami] != 1):
				t.Errorf("whoami durations %v, want exactly {%s: 1}", calls, tc.whoami)
			}
			if got := counts(t, rm, oryotel.MetricInFlight, ""); len(got) != 0 {
				t.Errorf("in flight %v after the call, want 0", got)
			}
			if n := len(r.spans.Ended()); (tc.whoami == "") != (n == 0) || n > 1 {
				t.Errorf("%d spans, want one per whoami call", n)
			}
			r.scan()
		})
	}
}

// busy: the lookup limit is full, so the guard refuses without asking Ory.
func TestBusyCountedOnce(t *testing.T) {
	r := newRig(t, func(c *core.Config) { c.MaxConcurrentLookups = 1 })
	r.ory.Reply(otherValue, orytest.Reply{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.guard.Route().Authenticate(ctx, cookieReq(otherValue)) }()
	defer func() { cancel(); <-done }()
	for counts(t, r.metrics(), oryotel.MetricInFlight, "")[""] != 1 {
		time.Sleep(time.Millisecond) // until the hanging call is in flight
	}
	d := r.guard.Route().Authenticate(context.Background(), tokenReq(goodToken))
	rm := r.metrics()
	if got := counts(t, rm, oryotel.MetricDecisions, oryotel.OutcomeKey); core.OutcomeOf(&d) != core.OutcomeBusy || len(got) != 1 || got["busy"] != 1 {
		t.Errorf("decisions %v, want exactly {busy: 1}", got)
	}
	if calls := whoamiCalls(t, rm); len(calls) != 0 {
		t.Errorf("whoami durations %v while the only call is still in flight", calls)
	}
	cancel()
	<-done
	rm = r.metrics()
	if got := counts(t, rm, oryotel.MetricInFlight, ""); len(got) != 0 {
		t.Errorf("in flight %v after the call ended, want 0", got)
	}
	if calls := whoamiCalls(t, rm); calls["canceled -"] != 1 {
		t.Errorf("whoami durations %v, want {canceled -: 1}", calls)
	}
	r.scan()
}

func TestCacheLookupsAndEntries(t *testing.T) {
	r := newRig(t, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: 50 * time.Millisecond, StaleIfError: time.Hour}
	})
	ctx := context.Background()
	for range 3 { // miss, hit, hit
		if d := r.guard.Route().Authenticate(ctx, cookieReq(goodCookie)); !d.Allow {
			t.Fatalf("denied: %d", d.Status)
		}
	}
	if got := gauge(t, r.metrics(), oryotel.MetricCacheEntries); got != 1 {
		t.Errorf("cache entries %d, want 1", got)
	}
	time.Sleep(80 * time.Millisecond)
	if d := r.guard.Route().Authenticate(ctx, cookieReq(goodCookie)); !d.Allow { // stale: Ory asked again
		t.Fatalf("denied: %d", d.Status)
	}
	_ = r.guard.Route().Authenticate(ctx, &core.Request{Method: http.MethodGet, URI: "/"}) // no credential: no lookup
	rm := r.metrics()
	want := map[string]int64{"hit": 2, "miss": 1, "stale": 1}
	if got := counts(t, rm, oryotel.MetricCacheLookups, oryotel.CacheResultKey); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cache lookups %v, want %v", got, want)
	}
	if got := counts(t, rm, oryotel.MetricDecisions, oryotel.OutcomeKey); got["allowed"] != 4 || got["no_session"] != 1 {
		t.Errorf("decisions %v", got)
	}
	if calls := whoamiCalls(t, rm); calls["session 200"] != 2 {
		t.Errorf("whoami durations %v, want 2 sessions", calls)
	}
	if n := len(r.spans.Ended()); n != 2 {
		t.Errorf("%d spans, want 2: a cache hit makes none", n)
	}
	r.scan()
}

// The whoami span is a client span in the request's trace, its
// traceparent reaches Ory, and it carries the HTTP client attributes.
func TestWhoamiSpanJoinsRequestTrace(t *testing.T) {
	for _, ids := range []bool{false, true} {
		t.Run(fmt.Sprintf("session IDs %v", ids), func(t *testing.T) {
			var opts []oryotel.Option
			if ids {
				opts = append(opts, oryotel.WithSessionIDs())
			}
			r := newRig(t, func(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Hour} }, opts...)
			ctx, parent := r.tp.Tracer("app").Start(context.Background(), "GET /p", trace.WithSpanKind(trace.SpanKindServer))
			for range 2 { // the second is a cache hit: no span
				if d := r.guard.Route().Authenticate(ctx, cookieReq(goodCookie)); !d.Allow {
					t.Fatalf("denied: %d", d.Status)
				}
			}
			parent.End()
			spans := r.spans.Ended()
			if len(spans) != 2 {
				t.Fatalf("%d spans, want the request's and one whoami", len(spans))
			}
			w := spans[0]
			if w.Name() != "GET /sessions/whoami" || w.SpanKind() != trace.SpanKindClient {
				t.Errorf("span %q kind %v", w.Name(), w.SpanKind())
			}
			pc := parent.SpanContext()
			if w.Parent().SpanID() != pc.SpanID() || w.SpanContext().TraceID() != pc.TraceID() {
				t.Errorf("whoami span is not a child of the request's span")
			}
			u, _ := url.Parse(r.guard.OryURL())
			attrs := map[string]string{}
			for _, kv := range w.Attributes() {
				attrs[string(kv.Key)] = kv.Value.String()
			}
			want := map[string]string{
				"http.request.method": "GET", "server.address": u.Hostname(), "server.port": u.Port(),
				"url.full": r.guard.OryURL() + "/sessions/whoami", "url.template": "/sessions/whoami",
				"http.response.status_code": "200", "oryguard.whoami.result": "session",
			}
			if ids {
				want["oryguard.session.id"], want["oryguard.identity.id"] = "sess-1", "identity-sess-1"
			}
			if fmt.Sprint(attrs) != fmt.Sprint(want) {
				t.Errorf("span attributes\n got %v\nwant %v", attrs, want)
			}
			if w.Status().Code != codes.Unset {
				t.Errorf("status %v", w.Status())
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.headers) != 1 {
				t.Fatalf("%d requests reached Ory, want 1", len(r.headers))
			}
			tp := r.headers[0].Get("Traceparent")
			wantTP := fmt.Sprintf("00-%s-%s-01", pc.TraceID(), w.SpanContext().SpanID())
			if tp != wantTP {
				t.Errorf("Ory got traceparent %q, want %q (the whoami span in the request's trace)", tp, wantTP)
			}
			r.scan()
		})
	}
}

// The client's baggage and tracestate never reach Ory: only the whoami
// span's traceparent does, and baggage only when the app opts in.
func TestClientBaggageAndTraceStateStayHome(t *testing.T) {
	const (
		foreignParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		foreignState  = "attacker=c2VjcmV0,vendor=forwarded"
		clientBaggage = "user.email=victim%40example.com,tenant=acme"
	)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	tests := []struct {
		name        string
		opts        []oryotel.Option
		wantBaggage bool
	}{
		{"default", nil, false},
		{"WithBaggage", []oryotel.Option{oryotel.WithBaggage()}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil, append([]oryotel.Option{oryotel.WithPropagators(prop)}, tc.opts...)...)
			// What a server instrumentation (otelhttp) does with the
			// incoming request: extract, then start the server span.
			in := http.Header{}
			in.Set("Traceparent", foreignParent)
			in.Set("Tracestate", foreignState)
			in.Set("Baggage", clientBaggage)
			ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(in))
			ctx, parent := r.tp.Tracer("app").Start(ctx, "GET /p", trace.WithSpanKind(trace.SpanKindServer))
			if d := r.guard.Route().Authenticate(ctx, cookieReq(goodCookie)); !d.Allow {
				t.Fatalf("denied: %d", d.Status)
			}
			parent.End()
			if parent.SpanContext().TraceState().Len() == 0 {
				t.Fatal("the server span did not inherit the client's tracestate (the test proves nothing)")
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.headers) != 1 {
				t.Fatalf("%d requests reached Ory, want 1", len(r.headers))
			}
			h := r.headers[0]
			spans := r.spans.Ended()
			wantTP := fmt.Sprintf("00-%s-%s-01", parent.SpanContext().TraceID(), spans[0].SpanContext().SpanID())
			if got := h.Get("Traceparent"); got != wantTP {
				t.Errorf("Ory got traceparent %q, want the whoami span's %q", got, wantTP)
			}
			if got := h.Values("Tracestate"); len(got) != 0 {
				t.Errorf("Ory got the client's tracestate %q", got)
			}
			got := h.Get("Baggage")
			switch {
			case !tc.wantBaggage && got != "":
				t.Errorf("Ory got the client's baggage %q without WithBaggage", got)
			case tc.wantBaggage && (!strings.Contains(got, "tenant=acme") || !strings.Contains(got, "user.email=")):
				t.Errorf("Ory got baggage %q with WithBaggage, want the context's %q", got, clientBaggage)
			}
		})
	}
}

func TestFailedCallSpanStatus(t *testing.T) {
	r := newRig(t, nil)
	r.ory.Reply(otherValue, orytest.Reply{Status: 502})
	_ = r.guard.Route().Authenticate(context.Background(), tokenReq(otherValue))
	r.ory.Reply(otherValue, orytest.Reply{Status: 401, Body: orytest.Unauthorized()})
	_ = r.guard.Route().Authenticate(context.Background(), tokenReq(otherValue))
	spans := r.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if s := spans[0]; s.Status().Code != codes.Error || !hasAttr(s.Attributes(), "error.type", "502") {
		t.Errorf("a 502 span: status %v, attributes %v", s.Status(), s.Attributes())
	}
	if s := spans[1]; s.Status().Code != codes.Unset || hasAttr(s.Attributes(), "error.type", "401") {
		t.Errorf("a 401 is Ory's answer, not a failed call: status %v", s.Status())
	}
	r.scan()
}

func hasAttr(kvs []attribute.KeyValue, key, value string) bool {
	for _, kv := range kvs {
		if string(kv.Key) == key && kv.Value.String() == value {
			return true
		}
	}
	return false
}

// Concurrent misses with one credential share one call: one span, one
// duration, and the in-flight count returns to zero.
func TestCollapsedCallsShareOneSpan(t *testing.T) {
	r := newRig(t, nil)
	r.ory.Reply(otherValue, orytest.Reply{Delay: 100 * time.Millisecond, Body: sessionJSON(t, orytest.ActiveSession("sess-2", email))})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { _ = r.guard.Route().Authenticate(context.Background(), tokenReq(otherValue)) })
	}
	wg.Wait()
	rm := r.metrics()
	if got := counts(t, rm, oryotel.MetricDecisions, oryotel.OutcomeKey); got["allowed"] != 5 {
		t.Errorf("decisions %v", got)
	}
	calls := whoamiCalls(t, rm)
	if got := counts(t, rm, oryotel.MetricInFlight, ""); len(got) != 0 {
		t.Errorf("in flight %v", got)
	}
	if n := len(r.spans.Ended()); uint64(n) != calls["session 200"] || n < 1 {
		t.Errorf("%d spans for %v calls", n, calls)
	}
	r.scan()
}

// The defaults are the global providers; New never fails.
func TestDefaultsToGlobalProviders(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(goodToken, orytest.ActiveSession("s", email))
	g, err := core.New(core.Config{OryURL: ory.URL, Observer: oryotel.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Route().Authenticate(context.Background(), tokenReq(goodToken)); !d.Allow {
		t.Fatalf("denied: %d", d.Status)
	}
}

// The hit path with oryotel attached to an SDK meter provider allocates
// nothing more than without it.
func TestHitPathAddsNoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	for _, req := range []*core.Request{cookieReq(goodCookie), tokenReq(goodToken)} {
		without := hitAllocs(t, nil, req)
		with := hitAllocs(t, oryotel.New(oryotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))), req)
		if with != without {
			t.Errorf("hit path: %.1f allocs with oryotel, %.1f without", with, without)
		}
	}
}

func hitAllocs(t *testing.T, obs core.Observer, req *core.Request) float64 {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(goodCookie, orytest.ActiveSession("s", email))
	ory.Session(goodToken, orytest.ActiveSession("s", email))
	cfg := core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour}, Logger: slog.New(slog.DiscardHandler)}
	if obs != nil {
		cfg.Observer = obs
	}
	g, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt := g.Route()
	if d := rt.Authenticate(context.Background(), req); !d.Allow {
		t.Fatalf("denied: %d", d.Status)
	}
	return testing.AllocsPerRun(500, func() { _ = rt.Authenticate(context.Background(), req) })
}
