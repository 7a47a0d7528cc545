package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/examples/internal/ui"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const metricsCookie = "metrics-test-session-cookie-value"

// /metrics, scraped over HTTP and parsed as Prometheus' text format, has
// the decision and cache series after a few requests, and no credential.
func TestMetricsEndpoint(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(metricsCookie, orytest.ActiveSession("session-m", "m@example.com"))
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.provider.Shutdown(context.Background()) })
	env := ui.Env{OryURL: ory.URL, Addr: "127.0.0.1:4455"}
	guard, err := core.New(guardConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	flows, err := ui.NewOry(ory.URL, env.Origin(), guard, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newRouter(guard, flows, tel.metrics))
	t.Cleanup(srv.Close)

	for _, r := range []struct {
		path   string
		cookie bool
		status int
	}{
		{"/dashboard", true, 200},  // miss: Ory asked
		{"/dashboard", true, 200},  // hit
		{"/api/me", true, 200},     // hit
		{"/api/me", false, 401},    // no credential
		{"/", false, 200},          // optional: anonymous
		{"/dashboard", false, 303}, // no credential, browser
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+r.path, nil)
		if r.cookie {
			req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: metricsCookie})
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("%s: %d, want %d", r.path, resp.StatusCode, r.status)
		}
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), metricsCookie) {
		t.Fatal("/metrics holds the session cookie")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text format: %v\n%s", err, body)
	}
	want := []struct {
		family, label, value string
		n                    float64
	}{
		{"oryguard_decisions_total", "oryguard_outcome", "allowed", 3},
		{"oryguard_decisions_total", "oryguard_outcome", "no_session", 2},
		{"oryguard_decisions_total", "oryguard_outcome", "allowed_anonymous", 1},
		{"oryguard_cache_lookups_total", "oryguard_cache_result", "hit", 2},
		{"oryguard_cache_lookups_total", "oryguard_cache_result", "miss", 1},
		{"oryguard_cache_entries", "", "", 1},
		{"oryguard_lookups_in_flight", "", "", 0},
		{"oryguard_whoami_duration_seconds", "oryguard_whoami_result", "session", 1},
	}
	for _, w := range want {
		mf, ok := families[w.family]
		if !ok {
			t.Errorf("no %s in /metrics:\n%s", w.family, body)
			continue
		}
		if got, ok := sample(mf, w.label, w.value); !ok || got != w.n {
			t.Errorf("%s{%s=%q} = %v (found %v), want %v", w.family, w.label, w.value, got, ok, w.n)
		}
	}
}

// sample is the value (a histogram's count) of the series whose label has
// value ("" label: the only series).
func sample(mf *dto.MetricFamily, label, value string) (float64, bool) {
	for _, m := range mf.GetMetric() {
		match := label == ""
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				match = true
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
