package core_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// kratosCookie has the length of a real Kratos session cookie value
// (securecookie: base64 of the encoded token and a MAC).
var kratosCookie = "MTc2NDI0NjU3MXxEWDhFQVFMX2dBQUJFQUVRQUFCZl80QUFBUVp6ZEhKcGJtY01CUUFEYzJsa0JuTjBjbWx1Wnd3aUFDQnJWRlJ2VVVnM1JHbDJaazlQUW5WVFlVdGpSbEJZTlRGdk4zbFdURmhxVlE9PXwXb4mwuKYsWRBXJlV1TOsfjrCp4fBWQk3l1R2qhDxQ0A=="

// BenchmarkHit is the cache-hit path: credential extraction, keyed hash,
// cache lookup and policy check, with no I/O. The request carries app
// cookies around a Kratos-sized session cookie.
func BenchmarkHit(b *testing.B) {
	benchHit(b, &core.Request{
		Method: http.MethodGet, URI: "/dashboard", Accept: "text/html",
		Cookies: []string{"_ga=GA1.2.3; theme=dark; ory_kratos_session=" + kratosCookie + "; csrf_token_806060ca=abc"},
	}, kratosCookie)
}

// BenchmarkHitToken is the cache-hit path for an X-Session-Token.
func BenchmarkHitToken(b *testing.B) {
	benchHit(b, &core.Request{Method: http.MethodGet, URI: "/api", SessionToken: "ory_st_kTdvYbkLcEQ1Q8y3wXW2i2VnXQuBtJbK"},
		"ory_st_kTdvYbkLcEQ1Q8y3wXW2i2VnXQuBtJbK")
}

func benchHit(b *testing.B, req *core.Request, credential string) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(credential, orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	rt := g.Route()
	ctx := context.Background()
	if d := rt.Authenticate(ctx, req); !d.Allow {
		b.Fatalf("denied: %d", d.Status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if d := rt.Authenticate(ctx, req); !d.Allow {
			b.Fatal("denied")
		}
	}
	b.StopTimer()
	if ory.Calls() != 1 {
		b.Fatalf("%d whoami calls on the hit path", ory.Calls())
	}
}

// BenchmarkMiss is the uncached path: one whoami call to a local fake per
// request, through the guard.
func BenchmarkMiss(b *testing.B) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		b.Fatal(err)
	}
	rt := g.Route()
	req := &core.Request{Method: http.MethodGet, URI: "/", SessionToken: "tok"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := rt.Authenticate(ctx, req); !d.Allow {
			b.Fatal("denied")
		}
	}
}

// BenchmarkBareToSession is client-go's ToSession alone against the same
// fake, the yardstick for BenchmarkMiss.
func BenchmarkBareToSession(b *testing.B) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	cfg := client.NewConfiguration()
	cfg.Servers = client.ServerConfigurations{{URL: ory.URL}}
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	api := client.NewAPIClient(cfg)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, resp, err := api.FrontendAPI.ToSession(ctx).XSessionToken("tok").Execute()
		if err != nil || s == nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
	}
}
