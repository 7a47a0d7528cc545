package telemetry_test

import (
	"context"
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

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const password = "correct-horse-battery-staple-42"

// headerProxy is a reverse proxy in front of Kratos' public API that
// records the headers of every request reaching Kratos.
type headerProxy struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newHeaderProxy(t *testing.T, target string) *headerProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &headerProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			p.mu.Lock()
			p.headers = append(p.headers, pr.Out.Header.Clone())
			p.mu.Unlock()
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

func (p *headerProxy) recorded() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]http.Header(nil), p.headers...)
}

// TestWhoamiSpanInIncomingTrace: an app behind oryhttp whose requests
// arrive with a traceparent; each whoami call to the real Kratos is a client
// span in the incoming trace, a child of the incoming span, and Kratos
// receives the whoami span's own traceparent. A cache hit makes no span. No
// recorded attribute, event or metric label holds the cookie or the token.
func TestWhoamiSpanInIncomingTrace(t *testing.T) {
	t.Parallel()
	srv := harness.StartKratosT(t, harness.KratosOptions{})
	ctx := t.Context()
	browser, err := srv.RegisterBrowser(ctx, "otel-browser@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	api, err := srv.RegisterAPI(ctx, "otel-api@example.com", password)
	if err != nil {
		t.Fatal(err)
	}

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	prop := propagation.TraceContext{}

	proxy := newHeaderProxy(t, srv.PublicURL())
	guard, err := core.New(core.Config{
		OryURL:   proxy.URL,
		Cache:    core.CacheConfig{TTL: time.Minute},
		Logger:   slog.New(slog.DiscardHandler),
		Observer: oryotel.New(oryotel.WithTracerProvider(tp), oryotel.WithMeterProvider(mp), oryotel.WithPropagators(prop), oryotel.WithSessionIDs()),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The app reads the incoming trace context as otelhttp would.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		oryhttp.Middleware(guard, core.ForceAPI())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := oryhttp.Session(r.Context())
			_, _ = io.WriteString(w, s.Id)
		})).ServeHTTP(w, r)
	}))
	t.Cleanup(app.Close)

	cases := []struct {
		name      string
		traceID   string
		spanID    string
		sessionID string
		set       func(*http.Request)
	}{
		{"session cookie", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", browser.SessionID,
			func(r *http.Request) { r.AddCookie(browser.Cookie) }},
		{"session token", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", api.SessionID,
			func(r *http.Request) { r.Header.Set("X-Session-Token", api.Token) }},
	}
	for _, tc := range cases {
		for i := range 2 { // a miss, then a cache hit
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL+"/p", nil)
			req.Header.Set("Traceparent", fmt.Sprintf("00-%s-%s-01", tc.traceID, tc.spanID))
			tc.set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != tc.sessionID {
				t.Fatalf("%s, request %d: %d %q, want 200 with session %s", tc.name, i, resp.StatusCode, body, tc.sessionID)
			}
		}
	}

	ended := spans.Ended()
	if len(ended) != len(cases) {
		t.Fatalf("%d spans, want one whoami span per credential (cache hits make none)", len(ended))
	}
	reached := proxy.recorded()
	if len(reached) != len(cases) {
		t.Fatalf("%d requests reached Kratos, want %d", len(reached), len(cases))
	}
	for i, tc := range cases {
		s := ended[i]
		sc := s.SpanContext()
		if s.Name() != "GET /sessions/whoami" || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("%s: span %q kind %v", tc.name, s.Name(), s.SpanKind())
		}
		if sc.TraceID().String() != tc.traceID || s.Parent().SpanID().String() != tc.spanID || !s.Parent().IsRemote() {
			t.Errorf("%s: whoami span in trace %s with parent %s, want trace %s, parent %s (the incoming span)",
				tc.name, sc.TraceID(), s.Parent().SpanID(), tc.traceID, tc.spanID)
		}
		attrs := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value.String()
		}
		if attrs["http.response.status_code"] != "200" || attrs[oryotel.WhoamiResultKey] != "session" ||
			attrs[oryotel.SessionIDKey] != tc.sessionID || attrs["url.full"] != proxy.URL+"/sessions/whoami" {
			t.Errorf("%s: span attributes %v", tc.name, attrs)
		}
		want := fmt.Sprintf("00-%s-%s-01", tc.traceID, sc.SpanID())
		if got := reached[i].Get("Traceparent"); got != want {
			t.Errorf("%s: Kratos got traceparent %q, want %q (the whoami span)", tc.name, got, want)
		}
	}

	// No credential in any span or metric.
	secrets := []string{browser.Cookie.Value, api.Token}
	var seen []string
	for _, s := range ended {
		seen = append(seen, s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			seen = append(seen, kv.Value.String())
		}
		for _, e := range s.Events() {
			seen = append(seen, e.Name)
			for _, kv := range e.Attributes {
				seen = append(seen, kv.Value.String())
			}
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			seen = append(seen, fmt.Sprintf("%+v", m.Data))
		}
	}
	for _, v := range seen {
		for _, secret := range secrets {
			if strings.Contains(v, secret) {
				t.Errorf("telemetry holds a credential: %q", v)
			}
		}
	}
}
