package conformance_test

import (
	"context"
	"net/http"
	"testing"
	"unsafe"

	"github.com/oryguard/oryguard/core"
)

// Request's strings may point into memory a framework reuses once the
// handler returns (Fiber does), and core documents that it copies what it
// keeps. A Decision is handed back to the adapter, yet LogoutRedirect's
// Location (no session, return_to without escapes) is a substring of
// Request.URI: an adapter that keeps the Decision past the handler (to log
// it, to write it asynchronously) would send whatever the next request put
// there.
func TestDecisionOutlivesRequestMemory(t *testing.T) {
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
