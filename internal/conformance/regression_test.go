package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"unsafe"

	"github.com/oryguard/oryguard/core"
	suite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/conformance"
)

// Regression tests for core bugs found while writing the adapters.

// A browser can hold two cookies with the session cookie's name (one for
// .example.com and one for app.example.com after session.cookie.domain
// changed, or two paths). Kratos uses the first one it can decode, and its
// login flow sends a browser with a valid session straight back to
// return_to. The guard once treated such duplicates as no credential and
// redirected to login: an endless redirect loop. It now forwards them all,
// in order, and Kratos chooses.
func TestRegressionDuplicateSessionCookieLoops(t *testing.T) {
	suite.RunCases(t, []suite.Case{{
		Name: "duplicate session cookies all reach Ory, which chooses",
		Setup: func(e *suite.Env) {
			e.Ory.Session(e.Cred("first"), orytest.ActiveSession("s-first", "dup@example.com"))
		},
		Request: func(e *suite.Env) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
			r.Header.Set("Accept", "text/html")
			r.Header.Set("Cookie", "ory_kratos_session="+e.Cred("first")+"; ory_kratos_session="+e.Cred("stale"))
			return r
		},
		Want: func(e *suite.Env) suite.Outcome {
			return suite.Outcome{
				Status:           200,
				Body:             "protected handler ran with session s-first\n",
				ContentType:      suite.ProtectedContentType,
				HandlerRuns:      1,
				SessionID:        "s-first",
				Email:            "dup@example.com",
				ContextSessionID: "s-first",
				Ory: []orytest.Recorded{{Path: "/sessions/whoami",
					Cookie: "ory_kratos_session=" + e.Cred("first") + "; ory_kratos_session=" + e.Cred("stale")}},
			}
		},
	}}, conformance.Targets()...)
}

// Request's strings may point into memory Fiber reuses once the handler
// returns, and core documents that it copies what it keeps. A Decision is
// handed back to the adapter, yet LogoutRedirect's Location (no session,
// return_to without escapes) is a substring of Request.URI: an adapter that
// keeps the Decision past the handler (to log it, to write it
// asynchronously) would send whatever the next request put there.
func TestRegressionDecisionAliasesRequestMemory(t *testing.T) {
	guard, err := core.New(core.Config{OryURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("/logout?return_to=/bye")
	req := core.Request{Method: http.MethodGet, URI: unsafe.String(&buf[0], len(buf))}
	d := guard.LogoutRedirect(context.Background(), &req)
	copy(buf, "/next?other=request!!!") // the framework reuses its buffer
	if got := d.Header.Get("Location"); got != "/bye" {
		t.Fatalf("Location = %q after the request buffer was reused, want %q", got, "/bye")
	}
}
