package core_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// BenchmarkPermit is a cached session on a route with one permission
// check, against the fake Keto on loopback: with the permission cache off
// (one call to Keto per request) and on (no call).
func BenchmarkPermit(b *testing.B) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"cache-off", 0}, {"cache-on", time.Hour}} {
		b.Run(tc.name, func(b *testing.B) {
			ory := orytest.NewServer()
			defer ory.Close()
			keto := orytest.NewKeto()
			defer keto.Close()
			ory.Session(aliceToken, orytest.ActiveSession("s-alice", "alice@example.com"))
			keto.Allow("Document", "d1", "viewer", aliceID)
			g, err := core.New(core.Config{
				OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour},
				Permissions: core.PermissionsConfig{URL: keto.URL, CacheTTL: tc.ttl},
			})
			if err != nil {
				b.Fatal(err)
			}
			rt := g.Route(core.Permit("Document", "viewer", core.PathParam("doc")))
			req := &core.Request{Method: http.MethodGet, URI: "/docs/d1", SessionToken: aliceToken, Params: params{"doc": "d1"}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if d := rt.Authenticate(ctx, req); !d.Allow {
					b.Fatalf("denied: %v", d.Denial)
				}
			}
		})
	}
}
