//go:build !race

package core_test

import (
	"net/http"
	"testing"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// TestRequestWithDecisionAllocatesOnce: the request copy and the context
// value are one allocation (the race detector adds its own, hence the
// build tag).
func TestRequestWithDecisionAllocatesOnce(t *testing.T) {
	r, err := http.NewRequest(http.MethodGet, "http://app.example/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := core.Decision{Allow: true, Session: &client.Session{Id: "s1"}}
	var sink *http.Request
	if n := testing.AllocsPerRun(100, func() { sink = core.RequestWithDecision(r, d) }); n != 1 {
		t.Errorf("%v allocations, want 1", n)
	}
	_ = sink
}
