package oryotel_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type objParams map[string]string

func (p objParams) Param(n string) string { return p[n] }

// permRig is a guard with oryotel, a fake Ory that knows one token and a
// fake Keto.
func permRig(t *testing.T, mutate func(*core.Config), opts ...oryotel.Option) (*core.Guard, *orytest.Keto, *sdkmetric.ManualReader) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(goodToken, orytest.ActiveSession("s1", email))
	keto := orytest.NewKeto()
	t.Cleanup(keto.Close)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	cfg := core.Config{
		OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler),
		Observer:    oryotel.New(append([]oryotel.Option{oryotel.WithMeterProvider(mp)}, opts...)...),
		Permissions: core.PermissionsConfig{URL: keto.URL, Timeout: 300 * time.Millisecond},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, keto, reader
}

// permPoints returns the permission checks counted per label set, written
// as "namespace relation result cached batch [object]".
func permPoints(t *testing.T, reader *sdkmetric.ManualReader) (checks map[string]int64, durations map[string]uint64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	label := func(s attribute.Set) string {
		v := func(k attribute.Key) string { x, _ := s.Value(k); return x.String() }
		l := v(oryotel.PermissionNamespaceKey) + " " + v(oryotel.PermissionRelationKey) + " " + v(oryotel.PermissionResultKey) +
			" cached=" + v(oryotel.PermissionCachedKey) + " batch=" + v(oryotel.PermissionBatchKey)
		if o, ok := s.Value(oryotel.PermissionObjectKey); ok {
			l += " object=" + o.String()
		}
		return l
	}
	checks, durations = map[string]int64{}, map[string]uint64{}
	if m, ok := find(rm, oryotel.MetricPermissionChecks); ok {
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			checks[label(dp.Attributes)] += dp.Value
		}
	}
	if m, ok := find(rm, oryotel.MetricPermissionDuration); ok {
		if m.Unit != "s" {
			t.Errorf("unit %q", m.Unit)
		}
		for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
			durations[label(dp.Attributes)] += dp.Count
		}
	}
	return checks, durations
}

func permTokenReq(object string) *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/d", Accept: "application/json", SessionToken: goodToken, Params: objParams{"doc": object}}
}

func TestPermissionChecksCounted(t *testing.T) {
	g, keto, reader := permRig(t, nil)
	keto.Allow("Document", "secret-object-1", "viewer", "identity-s1")
	rt := g.Route(core.Permit("Document", "viewer", core.PathParam("doc")))
	ctx := context.Background()
	if d := rt.Authenticate(ctx, permTokenReq("secret-object-1")); !d.Allow {
		t.Fatalf("denied: %v", d.Denial)
	}
	if d := rt.Authenticate(ctx, permTokenReq("secret-object-2")); d.Allow {
		t.Fatal("allowed without a tuple")
	}
	keto.ReplyAll(&orytest.Reply{Status: 500, Body: []byte(`{}`)})
	if d := rt.Authenticate(ctx, permTokenReq("secret-object-1")); d.Allow {
		t.Fatal("allowed on a 500")
	}
	checks, durations := permPoints(t, reader)
	want := map[string]int64{
		"Document viewer allowed cached=false batch=false": 1,
		"Document viewer denied cached=false batch=false":  1,
		"Document viewer error cached=false batch=false":   1,
	}
	for k, v := range want {
		if checks[k] != v || durations[k] != uint64(v) {
			t.Errorf("%s: %d checks, %d durations; want %d", k, checks[k], durations[k], v)
		}
	}
	if len(checks) != len(want) {
		t.Errorf("checks %v", checks)
	}
}

func TestPermissionObjectsOnlyWhenBothOptIn(t *testing.T) {
	for _, tc := range []struct {
		name          string
		core, oryotel bool
		object        bool
	}{
		{"neither", false, false, false},
		{"core only", true, false, false},
		{"oryotel only", false, true, false},
		{"both", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []oryotel.Option
			if tc.oryotel {
				opts = append(opts, oryotel.WithPermissionObjects())
			}
			g, keto, reader := permRig(t, func(c *core.Config) { c.Permissions.ObserveObjects = tc.core }, opts...)
			keto.Allow("Document", "secret-object-1", "viewer", "identity-s1")
			rt := g.Route(core.Permit("Document", "viewer", core.PathParam("doc")))
			if d := rt.Authenticate(context.Background(), permTokenReq("secret-object-1")); !d.Allow {
				t.Fatalf("denied: %v", d.Denial)
			}
			checks, _ := permPoints(t, reader)
			key := "Document viewer allowed cached=false batch=false"
			if tc.object {
				key += " object=secret-object-1"
			}
			if checks[key] != 1 || len(checks) != 1 {
				t.Errorf("checks %v, want %s", checks, key)
			}
		})
	}
}

func TestPermissionBatchAndCacheLabels(t *testing.T) {
	g, keto, reader := permRig(t, func(c *core.Config) {
		c.Permissions.Batch = true
		c.Permissions.CacheTTL = time.Minute
	})
	keto.Allow("Document", "d", "viewer", "identity-s1")
	keto.Allow("Document", "d", "editor", "identity-s1")
	rt := g.Route(core.Permit("Document", "viewer", core.PathParam("doc")), core.Permit("Document", "editor", core.PathParam("doc")))
	for range 2 {
		if d := rt.Authenticate(context.Background(), permTokenReq("d")); !d.Allow {
			t.Fatalf("denied: %v", d.Denial)
		}
	}
	checks, durations := permPoints(t, reader)
	for _, rel := range []string{"viewer", "editor"} {
		called := "Document " + rel + " allowed cached=false batch=true"
		cached := "Document " + rel + " allowed cached=true batch=false"
		if checks[called] != 1 || checks[cached] != 1 || durations[called] != 1 || durations[cached] != 0 {
			t.Errorf("%s: checks %v durations %v", rel, checks, durations)
		}
	}
	if keto.Calls() != 1 {
		t.Errorf("%d calls to Keto", keto.Calls())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if n := gauge(t, rm, oryotel.MetricPermissionCacheEntries); n != 2 {
		t.Errorf("%d permission cache entries, want 2", n)
	}
}
