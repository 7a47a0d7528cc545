package orygrpc_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/ory/client-go"
	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

const (
	methodCheck = "/grpc.health.v1.Health/Check"
	methodList  = "/grpc.health.v1.Health/List"
	methodWatch = "/grpc.health.v1.Health/Watch"
)

// healthSvc is grpc_health_v1 answering SERVING, recording the session each
// call's handler saw.
type healthSvc struct {
	healthgrpc.UnimplementedHealthServer
	mu   sync.Mutex
	seen []string // session id, "anonymous: <SessionError>" or "none"
}

func (h *healthSvc) record(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := orygrpc.Session(ctx); ok {
		h.seen = append(h.seen, s.Id)
		return
	}
	h.seen = append(h.seen, "anonymous: "+orygrpc.SessionError(ctx).Error())
}

func (h *healthSvc) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) == 0 {
		return ""
	}
	return h.seen[len(h.seen)-1]
}

func (h *healthSvc) Check(ctx context.Context, _ *healthgrpc.HealthCheckRequest) (*healthgrpc.HealthCheckResponse, error) {
	h.record(ctx)
	return &healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}, nil
}

func (h *healthSvc) List(ctx context.Context, _ *healthgrpc.HealthListRequest) (*healthgrpc.HealthListResponse, error) {
	h.record(ctx)
	return &healthgrpc.HealthListResponse{}, nil
}

// Watch sends SERVING every 10ms until the stream's context ends.
func (h *healthSvc) Watch(_ *healthgrpc.HealthCheckRequest, stream healthgrpc.Health_WatchServer) error {
	h.record(stream.Context())
	for {
		if err := stream.Send(&healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// recorder records the headers of every request the guard sends to Ory.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
}

func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rc.mu.Lock()
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (rc *recorder) all() []http.Header {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]http.Header(nil), rc.headers...)
}

type env struct {
	ory    *orytest.Server
	sent   *recorder
	svc    *healthSvc
	guard  *core.Guard
	ic     *orygrpc.Interceptor
	health healthgrpc.HealthClient
}

// start runs the health service behind the interceptors on a bufconn
// listener, against a fake Ory.
func start(t *testing.T, coreCfg core.Config, cfg orygrpc.Config) *env {
	t.Helper()
	e := &env{ory: orytest.NewServer(), sent: &recorder{}, svc: &healthSvc{}}
	t.Cleanup(e.ory.Close)
	coreCfg.OryURL = e.ory.URL
	coreCfg.HTTPClient = &http.Client{Transport: e.sent}
	coreCfg.Logger = slog.New(slog.DiscardHandler)
	guard, err := core.New(coreCfg)
	if err != nil {
		t.Fatal(err)
	}
	e.guard = guard
	e.ic, err = orygrpc.New(guard, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(e.ic.ServerOptions()...)
	healthgrpc.RegisterHealthServer(srv, e.svc)
	if err := e.ic.Validate(srv); err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e.health = healthgrpc.NewHealthClient(conn)
	return e
}

func withMD(kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), kv...)
}

func aal2Session() client.Session {
	s := orytest.ActiveSession("s-aal2", "a@example.com")
	aal := client.AUTHENTICATORASSURANCELEVEL_AAL2
	s.AuthenticatorAssuranceLevel = &aal
	return s
}

// TestDenials: every API-client answer of the guard, as a status code and
// its details.
func TestDenials(t *testing.T) {
	stepUp := "/self-service/login/browser?aal=aal2"
	cases := []struct {
		name     string
		method   string // default methodCheck
		cfg      orygrpc.Config
		coreCfg  core.Config
		md       []string
		setup    func(*orytest.Server)
		code     codes.Code
		reason   core.ReasonCode
		redirect string // substring of ErrorInfo's redirect_browser_to
		retry    bool
		seen     string // what the handler saw, when it ran
	}{
		{name: "no credential", code: codes.Unauthenticated, reason: core.ReasonNoSession, redirect: "/self-service/login/browser"},
		{name: "unknown token", md: []string{"x-session-token", "nope"}, code: codes.Unauthenticated, reason: core.ReasonNoSession},
		{name: "unknown bearer", md: []string{"authorization", "Bearer nope"}, code: codes.Unauthenticated, reason: core.ReasonNoSession},
		{name: "token", md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.OK, seen: "s1"},
		{name: "bearer", md: []string{"authorization", "Bearer tok"}, setup: active("tok"), code: codes.OK, seen: "s1"},
		{name: "cookie", md: []string{"cookie", "ory_kratos_session=tok"}, setup: active("tok"), code: codes.OK, seen: "s1"},
		{name: "cookie split over fields", md: []string{"cookie", "theme=dark", "cookie", "ory_kratos_session=tok"}, setup: active("tok"), code: codes.OK, seen: "s1"},
		{name: "inactive session", md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) {
			s := orytest.ActiveSession("s1", "a@example.com")
			f := false
			s.Active = &f
			o.Session("tok", s)
		}, code: codes.Unauthenticated, reason: core.ReasonNoSession},
		{name: "Ory asks for aal2", md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) {
			o.Reply("tok", orytest.Reply{Status: http.StatusForbidden, Body: orytest.AAL2Required(o.URL + stepUp)})
		}, code: codes.PermissionDenied, reason: core.ReasonAAL2Required, redirect: "aal=aal2"},
		{name: "RequireAAL2 on aal1", cfg: orygrpc.Config{Methods: map[string][]core.Option{methodCheck: {core.RequireAAL2()}}},
			md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.PermissionDenied, reason: core.ReasonAAL2Required, redirect: "aal=aal2"},
		{name: "RequireAAL2 on aal2", cfg: orygrpc.Config{Methods: map[string][]core.Option{methodCheck: {core.RequireAAL2()}}},
			md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) { o.Session("tok", aal2Session()) }, code: codes.OK, seen: "s-aal2"},
		{name: "MaxAuthAge passed", cfg: orygrpc.Config{Options: []core.Option{core.MaxAuthAge(time.Second)}},
			md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.PermissionDenied, reason: core.ReasonRefreshRequired, redirect: "refresh=true"},
		{name: "Ory refuses the session", md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) {
			o.Reply("tok", orytest.Reply{Status: http.StatusForbidden, Body: []byte(`{"error":{"code":403,"status":"Forbidden"}}`)})
		}, code: codes.PermissionDenied, reason: core.ReasonForbidden},
		{name: "app check fails", cfg: orygrpc.Config{Options: []core.Option{core.Check(func(context.Context, *client.Session) error {
			return errors.New("secret-reason")
		})}}, md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.PermissionDenied, reason: core.ReasonForbidden},
		{name: "rate limited", md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) {
			o.ReplyAll(&orytest.Reply{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"7"}}})
		}, code: codes.ResourceExhausted, reason: core.ReasonRateLimited, retry: true},
		{name: "Ory fails", md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) {
			o.ReplyAll(&orytest.Reply{Status: http.StatusInternalServerError, Body: []byte(`{}`)})
		}, code: codes.Unavailable, reason: core.ReasonOryUnavailable},
		{name: "Ory down", md: []string{"x-session-token", "tok"}, setup: func(o *orytest.Server) { o.Close() },
			code: codes.Unavailable, reason: core.ReasonOryUnavailable},
		{name: "Ory too slow", coreCfg: core.Config{Timeout: 50 * time.Millisecond}, md: []string{"x-session-token", "tok"},
			setup: func(o *orytest.Server) { o.ReplyAll(&orytest.Reply{Hang: true}) }, code: codes.DeadlineExceeded, reason: core.ReasonOryTimeout},
		{name: "unlisted method is protected", method: methodList, code: codes.Unauthenticated, reason: core.ReasonNoSession, redirect: "/self-service/login/browser"},
		{name: "public method", method: methodList, cfg: orygrpc.Config{Public: []string{methodList}}, code: codes.OK, seen: "anonymous: " + core.ErrNoSession.Error()},
		{name: "optional method without session", cfg: orygrpc.Config{Optional: []string{methodCheck}}, code: codes.OK, seen: "anonymous: " + core.ErrNoSession.Error()},
		{name: "optional method with session", cfg: orygrpc.Config{Optional: []string{methodCheck}}, md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.OK, seen: "s1"},
		{name: "stream without session", method: methodWatch, code: codes.Unauthenticated, reason: core.ReasonNoSession, redirect: "/self-service/login/browser"},
		{name: "stream with session", method: methodWatch, md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.OK, seen: "s1"},
		{name: "stream needing aal2", method: methodWatch, cfg: orygrpc.Config{Methods: map[string][]core.Option{methodWatch: {core.RequireAAL2()}}},
			md: []string{"x-session-token", "tok"}, setup: active("tok"), code: codes.PermissionDenied, reason: core.ReasonAAL2Required, redirect: "aal=aal2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, tc.coreCfg, tc.cfg)
			if tc.setup != nil {
				tc.setup(e.ory)
			}
			ctx, cancel := context.WithTimeout(withMD(tc.md...), 5*time.Second)
			defer cancel()
			err := call(ctx, e.health, tc.method)
			st := status.Convert(err)
			if st.Code() != tc.code {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tc.code)
			}
			if tc.code == codes.OK {
				if got := e.svc.last(); got != tc.seen {
					t.Errorf("handler saw %q, want %q", got, tc.seen)
				}
				return
			}
			if len(e.svc.seen) != 0 {
				t.Errorf("handler ran for a denied call: %v", e.svc.seen)
			}
			if strings.Contains(st.Message(), "secret-reason") {
				t.Errorf("status leaks the app's check error: %q", st.Message())
			}
			var info *errdetails.ErrorInfo
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.RetryInfo:
					retry = d
				}
			}
			if info == nil || core.ReasonCode(info.GetReason()) != tc.reason || info.GetDomain() != core.RPCErrorDomain {
				t.Fatalf("ErrorInfo = %v, want reason %s domain %s", info, tc.reason, core.RPCErrorDomain)
			}
			loc := info.GetMetadata()[core.RPCMetadataRedirect]
			if tc.redirect == "" && loc != "" || !strings.Contains(loc, tc.redirect) {
				t.Errorf("redirect_browser_to = %q, want it to contain %q", loc, tc.redirect)
			}
			if tc.retry != (retry != nil) || retry != nil && retry.GetRetryDelay().AsDuration() < time.Second {
				t.Errorf("RetryInfo = %v, want one: %v", retry, tc.retry)
			}
		})
	}
}

func active(tok string) func(*orytest.Server) {
	return func(o *orytest.Server) { o.Session(tok, orytest.ActiveSession("s1", "a@example.com")) }
}

// call makes one call of method and, for a stream, reads its first message.
func call(ctx context.Context, h healthgrpc.HealthClient, method string) error {
	switch method {
	case methodList:
		_, err := h.List(ctx, &healthgrpc.HealthListRequest{})
		return err
	case methodWatch:
		stream, err := h.Watch(ctx, &healthgrpc.HealthCheckRequest{})
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	default:
		_, err := h.Check(ctx, &healthgrpc.HealthCheckRequest{})
		return err
	}
}

// TestOnlyCredentialReachesOry: what the guard sends to Ory is Ory's
// credential alone, whatever else the call carries.
func TestOnlyCredentialReachesOry(t *testing.T) {
	e := start(t, core.Config{}, orygrpc.Config{})
	e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	ctx := withMD("cookie", "theme=dark; tracking=xyz", "cookie", "ory_kratos_session=tok", "x-api-key", "app-secret",
		"x-forwarded-for", "10.0.0.1", "grpc-trace-bin", "\x01\x02")
	if _, err := e.health.Check(ctx, &healthgrpc.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	sent := e.sent.all()
	if len(sent) != 1 {
		t.Fatalf("%d requests to Ory, want 1", len(sent))
	}
	h := sent[0]
	if got := strings.Join(h.Values("Cookie"), "; "); got != "ory_kratos_session=tok" {
		t.Errorf("Cookie sent to Ory = %q, want the session cookie alone", got)
	}
	for k, v := range h {
		switch k {
		case "Cookie", "Accept", "User-Agent", "Accept-Encoding":
		default:
			t.Errorf("header %s: %q reached Ory", k, v)
		}
		for _, s := range v {
			if strings.Contains(s, "app-secret") || strings.Contains(s, "10.0.0.1") || strings.Contains(s, "dark") {
				t.Errorf("header %s carries unrelated metadata: %q", k, s)
			}
		}
	}
}

// TestHostileCredentials: credentials no Ory could issue never reach Ory
// and get Unauthenticated. They are handed to the interceptor in process,
// since gRPC's client refuses some of them on the wire.
func TestHostileCredentials(t *testing.T) {
	many := make([]string, 0, 2000)
	for range 1000 {
		many = append(many, "cookie", "ory_session_x="+strings.Repeat("a", 64))
	}
	cases := []struct {
		name string
		md   []string
	}{
		{"oversized token", []string{"x-session-token", strings.Repeat("t", 64<<10)}},
		{"oversized bearer", []string{"authorization", "Bearer " + strings.Repeat("t", 64<<10)}},
		{"control characters in token", []string{"x-session-token", "tok\r\nX-Evil: 1"}},
		{"NUL in bearer", []string{"authorization", "Bearer tok\x00"}},
		{"control characters in cookie", []string{"cookie", "ory_kratos_session=tok\nX-Evil: 1"}},
		{"oversized cookie", []string{"cookie", "ory_kratos_session=" + strings.Repeat("c", 64<<10)}},
		{"many cookies", many},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, core.Config{}, orygrpc.Config{})
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(tc.md...))
			ran := false
			_, err := e.ic.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: methodCheck}, func(context.Context, any) (any, error) {
				ran = true
				return nil, nil
			})
			if got := status.Code(err); got != codes.Unauthenticated || ran {
				t.Errorf("code = %v, handler ran = %v; want Unauthenticated and no handler", got, ran)
			}
			for _, h := range e.sent.all() {
				for k, v := range h {
					for _, s := range v {
						if strings.ContainsAny(s, "\r\n\x00") || len(s) > 32<<10 {
							t.Errorf("hostile %s reached Ory (%d bytes)", k, len(s))
						}
					}
				}
			}
		})
	}
}

// TestConfigErrors: a name that is not a method, or one the server does
// not serve, is an error, never a silently unprotected method.
func TestConfigErrors(t *testing.T) {
	guard, err := core.New(core.Config{OryURL: "http://ory.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     orygrpc.Config
		newErr  bool
		badName string // Validate's error names it
	}{
		{name: "not a method name", cfg: orygrpc.Config{Public: []string{"grpc.health.v1.Health/Check"}}, newErr: true},
		{name: "service only", cfg: orygrpc.Config{Methods: map[string][]core.Option{"/grpc.health.v1.Health": nil}}, newErr: true},
		{name: "public and optional", cfg: orygrpc.Config{Public: []string{methodCheck}, Optional: []string{methodCheck}}, newErr: true},
		{name: "misspelt public", cfg: orygrpc.Config{Public: []string{"/grpc.health.v1.Health/check"}}, badName: "/grpc.health.v1.Health/check"},
		{name: "misspelt method policy", cfg: orygrpc.Config{Methods: map[string][]core.Option{"/grpc.health.v1.Healthz/Check": {core.RequireAAL2()}}}, badName: "/grpc.health.v1.Healthz/Check"},
		{name: "misspelt optional", cfg: orygrpc.Config{Optional: []string{"/grpc.health.v1.Health/Wach"}}, badName: "/grpc.health.v1.Health/Wach"},
		{name: "all known", cfg: orygrpc.Config{Public: []string{methodList}, Optional: []string{methodWatch}, Methods: map[string][]core.Option{methodCheck: {core.RequireAAL2()}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic, err := orygrpc.New(guard, tc.cfg)
			if tc.newErr {
				if err == nil {
					t.Fatal("New accepted the config")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer()
			healthgrpc.RegisterHealthServer(srv, &healthSvc{})
			err = ic.Validate(srv)
			switch {
			case tc.badName == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.badName != "" && (err == nil || !strings.Contains(err.Error(), tc.badName)):
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.badName)
			}
		})
	}
	if _, err := orygrpc.New(nil, orygrpc.Config{}); err == nil {
		t.Error("New accepted a nil guard")
	}
}

// TestStreamRecheck: with StreamRecheck, a stream whose session is revoked
// ends with Unauthenticated; without it, the stream runs on.
func TestStreamRecheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		recheck time.Duration
		ends    bool
	}{
		{"recheck ends the stream", 20 * time.Millisecond, true},
		{"no recheck", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, core.Config{}, orygrpc.Config{StreamRecheck: tc.recheck})
			e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			ctx, cancel := context.WithTimeout(withMD("x-session-token", "tok"), 5*time.Second)
			defer cancel()
			stream, err := e.health.Watch(ctx, &healthgrpc.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); err != nil {
				t.Fatal(err)
			}
			e.ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()}) // revoked
			deadline := time.Now().Add(500 * time.Millisecond)
			for time.Now().Before(deadline) {
				if _, err = stream.Recv(); err != nil {
					break
				}
			}
			if !tc.ends {
				if err != nil {
					t.Fatalf("stream ended without a re-check: %v", err)
				}
				return
			}
			if st := status.Convert(err); st.Code() != codes.Unauthenticated {
				t.Fatalf("stream ended with %v, want Unauthenticated", err)
			}
		})
	}
}

// TestStreamRecheckForgetSession: with the session cache on, a re-check
// serves the cached session until the app forgets it; then the stream ends.
func TestStreamRecheckForgetSession(t *testing.T) {
	e := start(t, core.Config{Cache: core.CacheConfig{TTL: time.Minute}}, orygrpc.Config{StreamRecheck: 10 * time.Millisecond})
	e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	ctx, cancel := context.WithTimeout(withMD("x-session-token", "tok"), 5*time.Second)
	defer cancel()
	stream, err := e.health.Watch(ctx, &healthgrpc.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	e.ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()}) // revoked at Ory
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("stream ended while the session was cached: %v", err)
		}
	}
	if err := e.guard.ForgetSession(context.Background(), "s1"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if _, err = stream.Recv(); err != nil {
			break
		}
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("after ForgetSession the stream ended with %v, want Unauthenticated", err)
	}
}

// TestStreamRecheckSurvivesOryFailure: Ory failing during a re-check does
// not end a verified stream.
func TestStreamRecheckSurvivesOryFailure(t *testing.T) {
	e := start(t, core.Config{}, orygrpc.Config{StreamRecheck: 10 * time.Millisecond})
	e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	ctx, cancel := context.WithTimeout(withMD("x-session-token", "tok"), 5*time.Second)
	defer cancel()
	stream, err := e.health.Watch(ctx, &healthgrpc.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil { // the stream is open and verified
		t.Fatal(err)
	}
	e.ory.ReplyAll(&orytest.Reply{Status: http.StatusBadGateway, Body: []byte(`{}`)})
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("stream ended while Ory failed: %v", err)
		}
	}
	if e.ory.Calls() < 3 {
		t.Errorf("%d whoami calls, want the re-checks to have asked", e.ory.Calls())
	}
}

// TestSetCookiePassedOn: a Set-Cookie Ory sends with whoami reaches the
// client as response metadata (for gRPC-Web proxies).
func TestSetCookiePassedOn(t *testing.T) {
	e := start(t, core.Config{}, orygrpc.Config{})
	s := orytest.ActiveSession("s1", "a@example.com")
	e.ory.Session("tok", s)
	rep := orytest.Reply{Header: http.Header{"Set-Cookie": {"ory_kratos_session=new; Path=/; HttpOnly"}}}
	rep.Body = mustJSON(t, s)
	e.ory.Reply("tok", rep)
	var hdr metadata.MD
	if _, err := e.health.Check(withMD("cookie", "ory_kratos_session=tok"), &healthgrpc.HealthCheckRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("set-cookie"); len(got) != 1 || !strings.HasPrefix(got[0], "ory_kratos_session=new") {
		t.Errorf("set-cookie metadata = %q", got)
	}
}

// TestErrorHandler: the app chooses its own status.
func TestErrorHandler(t *testing.T) {
	e := start(t, core.Config{}, orygrpc.Config{ErrorHandler: func(_ context.Context, method string, err error) error {
		if errors.Is(err, core.ErrNoSession) {
			return status.Error(codes.NotFound, "no such thing: "+method)
		}
		return orygrpc.DefaultErrorHandler(context.Background(), method, err)
	}})
	_, err := e.health.Check(context.Background(), &healthgrpc.HealthCheckRequest{})
	if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "no such thing: "+methodCheck {
		t.Fatalf("got %v", err)
	}
}

// TestErrorHandlerNilDenies: an ErrorHandler that returns nil does not let
// a denied call through.
func TestErrorHandlerNilDenies(t *testing.T) {
	e := start(t, core.Config{}, orygrpc.Config{ErrorHandler: func(context.Context, string, error) error { return nil }})
	_, err := e.health.Check(context.Background(), &healthgrpc.HealthCheckRequest{})
	if status.Code(err) != codes.Unauthenticated || len(e.svc.seen) != 0 {
		t.Fatalf("got %v, handler saw %v; want Unauthenticated and no handler", err, e.svc.seen)
	}
}

// TestStatus: every sentinel maps to its code, and other errors to Internal.
func TestStatus(t *testing.T) {
	cases := []struct {
		err  error
		code codes.Code
	}{
		{&core.Denial{Reason: core.ErrNoSession}, codes.Unauthenticated},
		{&core.Denial{Reason: core.ErrAAL2Required}, codes.PermissionDenied},
		{&core.Denial{Reason: core.ErrRefreshRequired}, codes.PermissionDenied},
		{&core.Denial{Reason: core.ErrForbidden}, codes.PermissionDenied},
		{&core.Denial{Reason: core.ErrRateLimited, RetryAfter: 3}, codes.ResourceExhausted},
		{&core.Denial{Reason: core.ErrOryUnavailable}, codes.Unavailable},
		{&core.Denial{Reason: core.ErrOryTimeout}, codes.DeadlineExceeded},
		{&core.Denial{Reason: core.ErrBusy, RetryAfter: 1}, codes.Unavailable},
		{errors.New("boom"), codes.Internal},
		{nil, codes.Internal},
	}
	for _, tc := range cases {
		if got := orygrpc.Status(tc.err).Code(); got != tc.code {
			t.Errorf("Status(%v) = %v, want %v", tc.err, got, tc.code)
		}
	}
}
