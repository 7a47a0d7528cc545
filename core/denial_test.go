package core_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

var errUnverified = errors.New("verified email required")

func requireVerified(_ context.Context, s *client.Session) error {
	for _, a := range s.Identity.VerifiableAddresses {
		if a.Verified {
			return nil
		}
	}
	return errUnverified
}

// TestDenialReasons: every way a request is denied reaches the adapter as a
// *core.Denial that unwraps to exactly one sentinel and carries the status,
// Location and Retry-After of the standard answer, which Decision still
// holds byte for byte.
func TestDenialReasons(t *testing.T) {
	sentinels := []error{core.ErrNoSession, core.ErrAAL2Required, core.ErrRefreshRequired, core.ErrForbidden,
		core.ErrRateLimited, core.ErrOryUnavailable, core.ErrOryTimeout, core.ErrBusy}
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("active", orytest.ActiveSession("s-active", "a@example.com"))
	ory.Session("old", oldSession("s-old"))
	ory.Reply("limited", orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}})
	ory.Reply("broken", orytest.Reply{Status: 500})
	ory.Reply("slow", orytest.Reply{Delay: time.Second})
	ory.Reply("hold", orytest.Reply{Delay: 3 * time.Second})
	ory.Reply("refused", orytest.Reply{Status: 403, Body: []byte(`{"error":{"code":403,"id":"security_identity_mismatch"}}`)})
	ory.Reply("stepup", orytest.Reply{Status: 403, Body: orytest.AAL2Required(ory.URL + "/self-service/login/browser?aal=aal2")})

	cookie := func(v string) string { return "ory_kratos_session=" + v }
	tests := []struct {
		name       string
		opts       []core.Option
		cfg        func(*core.Config)
		req        *core.Request
		reason     error
		cause      error
		status     int
		api        bool
		location   bool
		retryAfter int
	}{
		{name: "no credential, browser", req: browser("/p", ""), reason: core.ErrNoSession, status: 303, location: true},
		{name: "no credential, api", req: apiReq("/p", ""), reason: core.ErrNoSession, status: 401, api: true, location: true},
		{name: "unknown token", req: &core.Request{URI: "/p", SessionToken: "unknown"}, reason: core.ErrNoSession, status: 401, api: true},
		{name: "unknown cookie", req: browser("/p", cookie("unknown")), reason: core.ErrNoSession, status: 303, location: true},
		{name: "aal2 policy", opts: []core.Option{core.RequireAAL2()}, req: browser("/p", cookie("active")), reason: core.ErrAAL2Required, status: 303, location: true},
		{name: "aal2 from Ory, api", req: apiReq("/p", cookie("stepup")), reason: core.ErrAAL2Required, status: 403, api: true, location: true},
		{name: "max auth age", opts: []core.Option{core.MaxAuthAge(time.Hour)}, req: browser("/p", cookie("old")), reason: core.ErrRefreshRequired, status: 303, location: true},
		{name: "max auth age, api", opts: []core.Option{core.MaxAuthAge(time.Hour)}, req: apiReq("/p", cookie("old")), reason: core.ErrRefreshRequired, status: 403, api: true, location: true},
		{name: "Ory 403", req: apiReq("/p", cookie("refused")), reason: core.ErrForbidden, status: 403, api: true},
		{name: "app check", opts: []core.Option{core.Check(requireVerified)}, req: browser("/p", cookie("active")), reason: core.ErrForbidden, cause: errUnverified, status: 403},
		{name: "rate limited", req: browser("/p", cookie("limited")), reason: core.ErrRateLimited, status: 429, retryAfter: 7},
		{name: "Ory 500", req: browser("/p", cookie("broken")), reason: core.ErrOryUnavailable, status: 502},
		{name: "Ory timeout", req: apiReq("/p", cookie("slow")), reason: core.ErrOryTimeout, status: 504, api: true},
		{name: "busy", cfg: func(c *core.Config) { c.MaxConcurrentLookups, c.Timeout = 1, 3*time.Second }, req: browser("/p", cookie("other")), reason: core.ErrBusy, status: 503, retryAfter: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newGuard(t, ory.URL, tc.cfg)
			route := g.Route(tc.opts...)
			if errors.Is(tc.reason, core.ErrBusy) { // hold the only lookup slot
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				before := ory.Calls()
				go route.Authenticate(ctx, browser("/p", cookie("hold")))
				waitFor(t, func() bool { return ory.Calls() > before })
			}
			d := route.Authenticate(context.Background(), tc.req)
			if d.Allow || d.Denial == nil {
				t.Fatalf("Allow=%v Denial=%v, want a denial", d.Allow, d.Denial)
			}
			den := d.Denial
			for _, s := range sentinels {
				if got, want := errors.Is(den, s), errors.Is(tc.reason, s); got != want {
					t.Errorf("errors.Is(denial, %v) = %v, want %v", s, got, want)
				}
			}
			if tc.cause != nil && !errors.Is(den, tc.cause) {
				t.Errorf("errors.Is(denial, cause) = false")
			}
			if den.Status != d.Status || den.Status != tc.status {
				t.Errorf("Status = %d (decision %d), want %d", den.Status, d.Status, tc.status)
			}
			if den.API != tc.api {
				t.Errorf("API = %v, want %v", den.API, tc.api)
			}
			if (den.Location != "") != tc.location {
				t.Errorf("Location = %q, want one: %v", den.Location, tc.location)
			}
			if loc := d.Header.Get("Location"); loc != "" && loc != den.Location {
				t.Errorf("Location %q differs from the answer's %q", den.Location, loc)
			}
			if den.RetryAfter != tc.retryAfter || d.Header.Get("Retry-After") != retryHeader(tc.retryAfter) {
				t.Errorf("RetryAfter = %d, header %q, want %d", den.RetryAfter, d.Header.Get("Retry-After"), tc.retryAfter)
			}
			std := core.Answer(den)
			if string(std.Body) != string(d.Body) || std.Status != d.Status || std.Header.Get("Content-Type") != d.Header.Get("Content-Type") {
				t.Errorf("Answer(denial) differs from the decision")
			}
		})
	}
}

func retryHeader(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOptionalRouteReasons: an optional route runs its handler without a
// session, and the decision (and the context the adapter builds from it)
// tells an anonymous request from one Ory could not answer.
func TestOptionalRouteReasons(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("active", orytest.ActiveSession("s-active", "a@example.com"))
	ory.Reply("broken", orytest.Reply{Status: 502})
	g, _ := newGuard(t, ory.URL, nil)
	route := g.Route(core.Optional())
	tests := []struct {
		cookie string
		want   error // nil: a session
	}{
		{"", core.ErrNoSession},
		{"ory_kratos_session=unknown", core.ErrNoSession},
		{"ory_kratos_session=broken", core.ErrOryUnavailable},
		{"ory_kratos_session=active", nil},
	}
	for _, tc := range tests {
		d := route.Authenticate(context.Background(), browser("/p", tc.cookie))
		if !d.Allow {
			t.Fatalf("%q: denied on an optional route", tc.cookie)
		}
		ctx := core.ContextWithDecision(context.Background(), d)
		err := core.SessionError(ctx)
		_, hasSession := core.SessionFromContext(ctx)
		if tc.want == nil {
			if err != nil || !hasSession {
				t.Errorf("%q: SessionError = %v, session %v; want nil and a session", tc.cookie, err, hasSession)
			}
			continue
		}
		if !errors.Is(err, tc.want) || hasSession {
			t.Errorf("%q: SessionError = %v, session %v; want %v and none", tc.cookie, err, hasSession, tc.want)
		}
	}
	if err := core.SessionError(context.Background()); !errors.Is(err, core.ErrNoSession) {
		t.Errorf("without the middleware: SessionError = %v", err)
	}
}

// TestCheck: an app rule passes or denies; a failing rule is ErrForbidden
// and the app's own error, answered 403 (JSON for API clients).
func TestCheck(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	verified := orytest.ActiveSession("s-verified", "v@example.com")
	verified.Identity.VerifiableAddresses = []client.VerifiableIdentityAddress{{Value: "v@example.com", Verified: true, Via: "email", Status: "completed"}}
	ory.Session("verified", verified)
	ory.Session("unverified", orytest.ActiveSession("s-unverified", "u@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	route := g.Route(core.Check(requireVerified))
	if d := route.Authenticate(context.Background(), browser("/p", "ory_kratos_session=verified")); !d.Allow || d.Session == nil {
		t.Fatalf("verified: Allow=%v", d.Allow)
	}
	d := route.Authenticate(context.Background(), apiReq("/p", "ory_kratos_session=unverified"))
	if d.Allow || d.Status != 403 || !errors.Is(d.Denial, core.ErrForbidden) || !errors.Is(d.Denial, errUnverified) {
		t.Fatalf("unverified: Allow=%v Status=%d Denial=%v", d.Allow, d.Status, d.Denial)
	}
	if e := decodeErr(t, d); e.Error.Code != 403 {
		t.Fatalf("body %s", d.Body)
	}
	opt := g.Route(core.Optional(), core.Check(requireVerified))
	d = opt.Authenticate(context.Background(), browser("/p", "ory_kratos_session=unverified"))
	if !d.Allow || d.Session != nil || !errors.Is(d.Denial, errUnverified) {
		t.Fatalf("optional unverified: Allow=%v Session=%v Denial=%v", d.Allow, d.Session, d.Denial)
	}
}
