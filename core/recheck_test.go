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

// TestCachedSessionFailingPolicyIsAskedAgain: a cached session that fails
// the route's policy is asked about once more, bypassing the cache, before
// the denial: a client that has just stepped up or re-authenticated in Ory
// passes at once instead of being refused until the cache entry expires.
func TestCachedSessionFailingPolicyIsAskedAgain(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opt          core.Option
		before, then client.Session
		status       int // the denial before
	}{
		{"RequireAAL2 after a step-up", core.RequireAAL2(),
			orytest.ActiveSession("s1", "a@example.com"), aal2Session("s1"), http.StatusForbidden},
		{"MaxAuthAge after re-authentication", core.MaxAuthAge(time.Hour),
			oldSession("s1"), orytest.ActiveSession("s1", "a@example.com"), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			ory.Session("tok", tc.before)
			g, _ := cachedGuard(t, ory.URL, nil)
			rt := g.Route(tc.opt)
			req := &core.Request{URI: "/api/admin", SessionToken: "tok"}
			if d := rt.Authenticate(context.Background(), req); d.Allow || d.Status != tc.status {
				t.Fatalf("before: allow=%v %d, want %d", d.Allow, d.Status, tc.status)
			}
			// Still denied while Ory says the same: asked once per denial.
			if d := rt.Authenticate(context.Background(), req); d.Allow || d.Status != tc.status {
				t.Fatalf("again: allow=%v %d", d.Allow, d.Status)
			}
			if c := ory.Calls(); c != 2 {
				t.Fatalf("%d whoami calls, want 2 (the cached copy failed the policy and was asked about again)", c)
			}
			// Ory fails: the cached session decides, and the policy denies
			// it (no 5xx for a session the policy refuses anyway).
			ory.ReplyAll(&orytest.Reply{Status: 500})
			if d := rt.Authenticate(context.Background(), req); d.Allow || d.Status != tc.status {
				t.Fatalf("Ory failing: allow=%v %d, want the policy's %d", d.Allow, d.Status, tc.status)
			}
			ory.ReplyAll(nil)
			ory.Session("tok", tc.then) // stepped up / re-authenticated in Ory
			if d := rt.Authenticate(context.Background(), req); !d.Allow || d.Session.Id != "s1" {
				t.Fatalf("after the step-up: allow=%v %d, want the fresh session", d.Allow, d.Status)
			}
			calls := ory.Calls()
			if d := rt.Authenticate(context.Background(), req); !d.Allow {
				t.Fatalf("the fresh answer was not cached: %d", d.Status)
			}
			if ory.Calls() != calls {
				t.Fatal("a cached session that passes the policy was asked about again")
			}
		})
	}
}
