package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

const (
	mCheck = "/grpc.health.v1.Health/Check"
	mList  = "/grpc.health.v1.Health/List"
	mWatch = "/grpc.health.v1.Health/Watch"
)

var served = []string{mCheck, mList, mWatch}

// TestMethodPolicyConfig: a name that is not a method, or one the server
// does not serve, is an error, never a silently unprotected method.
func TestMethodPolicyConfig(t *testing.T) {
	guard, err := core.New(core.Config{OryURL: "http://ory.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     core.MethodConfig
		newErr  string // NewMethodPolicy's error contains it
		badName string // Validate's error names it
	}{
		{name: "no leading slash", cfg: core.MethodConfig{Public: []string{"grpc.health.v1.Health/Check"}}, newErr: "not a full method name"},
		{name: "service only", cfg: core.MethodConfig{Methods: map[string][]core.Option{"/grpc.health.v1.Health": nil}}, newErr: "not a full method name"},
		{name: "empty service", cfg: core.MethodConfig{Optional: []string{"//Check"}}, newErr: "not a full method name"},
		{name: "three parts", cfg: core.MethodConfig{Optional: []string{"/a.B/C/D"}}, newErr: "not a full method name"},
		{name: "public and optional", cfg: core.MethodConfig{Public: []string{mCheck}, Optional: []string{mCheck}}, newErr: "both public"},
		{name: "public and given options", cfg: core.MethodConfig{Public: []string{mCheck}, Methods: map[string][]core.Option{mCheck: {core.RequireAAL2()}}}, newErr: "both public"},
		{name: "misspelt public", cfg: core.MethodConfig{Public: []string{"/grpc.health.v1.Health/check"}}, badName: "/grpc.health.v1.Health/check"},
		{name: "misspelt method", cfg: core.MethodConfig{Methods: map[string][]core.Option{"/grpc.health.v1.Healthz/Check": {core.RequireAAL2()}}}, badName: "/grpc.health.v1.Healthz/Check"},
		{name: "misspelt optional", cfg: core.MethodConfig{Optional: []string{"/grpc.health.v1.Health/Wach"}}, badName: "/grpc.health.v1.Health/Wach"},
		{name: "all served", cfg: core.MethodConfig{Public: []string{mList}, Optional: []string{mWatch}, Methods: map[string][]core.Option{mCheck: {core.RequireAAL2()}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := core.NewMethodPolicy(guard, tc.cfg)
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("NewMethodPolicy = %v, want an error containing %q", err, tc.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = p.Validate(served)
			switch {
			case tc.badName == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.badName != "" && (err == nil || !strings.Contains(err.Error(), tc.badName)):
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.badName)
			}
		})
	}
	if _, err := core.NewMethodPolicy(nil, core.MethodConfig{}); err == nil {
		t.Error("NewMethodPolicy accepted a nil guard")
	}
}

// TestMethodPolicyRoutes: public methods have no route; every other method
// is guarded, API-style, with its own options after the shared ones.
func TestMethodPolicyRoutes(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com")) // aal1
	guard, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := core.NewMethodPolicy(guard, core.MethodConfig{
		Options:  []core.Option{core.ForceBrowser()}, // overridden: RPC answers are API answers
		Methods:  map[string][]core.Option{mWatch: {core.RequireAAL2()}},
		Optional: []string{mList},
		Public:   []string{"/x.Y/Public"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Route("/x.Y/Public") != nil {
		t.Fatal("a public method has a route")
	}
	cases := []struct {
		method, token string
		allow         bool
		status        int
		session       bool
	}{
		{mCheck, "", false, http.StatusUnauthorized, false}, // API answer, not a 303
		{mCheck, "tok", true, 0, true},
		{"/other.Service/Unlisted", "", false, http.StatusUnauthorized, false},
		{mList, "", true, 0, false},
		{mWatch, "tok", false, http.StatusForbidden, false},
	}
	for _, tc := range cases {
		t.Run(tc.method+"/"+tc.token, func(t *testing.T) {
			r := core.Request{Accept: "text/html", SessionToken: tc.token}
			d := p.Route(tc.method).Authenticate(context.Background(), &r)
			if d.Allow != tc.allow || !d.Allow && d.Status != tc.status || (d.Session != nil) != tc.session {
				t.Fatalf("allow=%v status=%d session=%v; want %v %d %v", d.Allow, d.Status, d.Session != nil, tc.allow, tc.status, tc.session)
			}
		})
	}
}

// TestRPCStatusOf: each sentinel's status code, reason code and details;
// any other error is Internal.
func TestRPCStatusOf(t *testing.T) {
	appErr := errors.New("secret-reason")
	cases := []struct {
		err    error
		code   core.RPCCode
		name   string
		reason core.ReasonCode
		redir  string
		retry  time.Duration
	}{
		{&core.Denial{Reason: core.ErrNoSession, Location: "https://ory/login"}, core.RPCUnauthenticated, "Unauthenticated", core.ReasonNoSession, "https://ory/login", 0},
		{&core.Denial{Reason: core.ErrAAL2Required, Location: "https://ory/login?aal=aal2"}, core.RPCPermissionDenied, "PermissionDenied", core.ReasonAAL2Required, "https://ory/login?aal=aal2", 0},
		{&core.Denial{Reason: core.ErrRefreshRequired}, core.RPCPermissionDenied, "PermissionDenied", core.ReasonRefreshRequired, "", 0},
		{&core.Denial{Reason: core.ErrForbidden, Cause: appErr}, core.RPCPermissionDenied, "PermissionDenied", core.ReasonForbidden, "", 0},
		{&core.Denial{Reason: core.ErrRateLimited, RetryAfter: 7}, core.RPCResourceExhausted, "ResourceExhausted", core.ReasonRateLimited, "", 7 * time.Second},
		{&core.Denial{Reason: core.ErrOryUnavailable}, core.RPCUnavailable, "Unavailable", core.ReasonOryUnavailable, "", 0},
		{&core.Denial{Reason: core.ErrOryTimeout}, core.RPCDeadlineExceeded, "DeadlineExceeded", core.ReasonOryTimeout, "", 0},
		{&core.Denial{Reason: core.ErrBusy, RetryAfter: 1}, core.RPCUnavailable, "Unavailable", core.ReasonBusy, "", time.Second},
		{&core.Denial{Reason: core.ErrPermissionDenied}, core.RPCPermissionDenied, "PermissionDenied", core.ReasonPermissionDenied, "", 0},
		{&core.Denial{Reason: core.ErrPermissionsUnavailable}, core.RPCUnavailable, "Unavailable", core.ReasonPermissionsUnavailable, "", 0},
		{fmt.Errorf("wrapped: %w", &core.Denial{Reason: core.ErrNoSession}), core.RPCUnauthenticated, "Unauthenticated", core.ReasonNoSession, "", 0},
		{&core.Denial{Reason: errors.New("not a sentinel")}, core.RPCInternal, "Internal", "", "", 0},
		{(*core.Denial)(nil), core.RPCInternal, "Internal", "", "", 0},
		{appErr, core.RPCInternal, "Internal", "", "", 0},
		{nil, core.RPCInternal, "Internal", "", "", 0},
	}
	for _, tc := range cases {
		st := core.RPCStatusOf(tc.err)
		if st.Code != tc.code || st.Code.String() != tc.name || st.Reason != tc.reason ||
			st.Metadata[core.RPCMetadataRedirect] != tc.redir || st.RetryDelay != tc.retry {
			t.Errorf("RPCStatusOf(%v) = %+v", tc.err, st)
		}
		if strings.Contains(st.Message, "secret-reason") {
			t.Errorf("RPCStatusOf(%v) leaks the app's error: %q", tc.err, st.Message)
		}
		if tc.redir == "" && st.Metadata != nil {
			t.Errorf("RPCStatusOf(%v) has metadata %v", tc.err, st.Metadata)
		}
	}
}

// watched is a fake Ory where "tok" is an active session, and an API route
// of a guard without a cache in front of it.
func watched(t *testing.T) (*orytest.Server, *core.Route) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	guard, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	return ory, guard.Route(core.ForceAPI())
}

// TestWatch: a re-check ends on a lost session, not on Ory failing, and
// returns nil when the stream ends first.
func TestWatch(t *testing.T) {
	ory, rt := watched(t)
	r := core.Request{SessionToken: "tok"}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	if d := rt.Watch(ctx, &r, 5*time.Millisecond); d != nil {
		t.Fatalf("Watch ended a live session: %v", d)
	}
	calls := ory.Calls()
	if calls < 2 {
		t.Fatalf("%d whoami calls, want the ticks to ask", calls)
	}

	ory.ReplyAll(&orytest.Reply{Status: http.StatusBadGateway, Body: []byte(`{}`)})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel2()
	if d := rt.Watch(ctx2, &r, 5*time.Millisecond); d != nil {
		t.Fatalf("Watch ended the stream while Ory failed: %v", d)
	}
	if ory.Calls() <= calls {
		t.Fatal("Watch did not ask while Ory failed")
	}

	ory.ReplyAll(nil)
	ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	ctx3, cancel3 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel3()
	d := rt.Watch(ctx3, &r, 5*time.Millisecond)
	if !errors.Is(d, core.ErrNoSession) {
		t.Fatalf("Watch = %v, want ErrNoSession", d)
	}
}

// TestWatchStream: the watch ends the stream with the error end made of
// the denial, cancelling its context with it; Stop alone ends nothing.
func TestWatchStream(t *testing.T) {
	ory, rt := watched(t)
	r := core.Request{SessionToken: "tok"}
	errEnded := errors.New("stream ended")
	end := func(_ context.Context, d *core.Denial) error { return fmt.Errorf("%w: %w", errEnded, d) }

	w := rt.WatchStream(context.Background(), &r, 5*time.Millisecond, end)
	time.Sleep(30 * time.Millisecond)
	w.Stop()
	if w.Ended() != nil || !errors.Is(w.Context().Err(), context.Canceled) || !errors.Is(context.Cause(w.Context()), context.Canceled) {
		t.Fatalf("after Stop: Ended %v, cause %v", w.Ended(), context.Cause(w.Context()))
	}

	w = rt.WatchStream(context.Background(), &r, 5*time.Millisecond, end)
	defer w.Stop()
	ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	select {
	case <-w.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end the stream")
	}
	if got := w.Ended(); !errors.Is(got, errEnded) || !errors.Is(got, core.ErrNoSession) {
		t.Fatalf("Ended = %v", got)
	}
	if cause := context.Cause(w.Context()); !errors.Is(cause, errEnded) {
		t.Fatalf("cause = %v", cause)
	}
}
