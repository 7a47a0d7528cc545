package orygrpc_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
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

// TestConfigErrors: New rejects what core.NewMethodPolicy rejects (its
// own test covers every case), and Validate reads the methods the server
// registered, so a name it does not serve is an error, never a silently
// unprotected method.
func TestConfigErrors(t *testing.T) {
	guard, err := core.New(core.Config{OryURL: "http://ory.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orygrpc.New(guard, orygrpc.Config{Public: []string{"grpc.health.v1.Health/Check"}}); err == nil || !strings.HasPrefix(err.Error(), "orygrpc: ") {
		t.Errorf("New with a name that is not a method: %v", err)
	}
	if _, err := orygrpc.New(nil, orygrpc.Config{}); err == nil {
		t.Error("New accepted a nil guard")
	}
	srv := grpc.NewServer()
	healthgrpc.RegisterHealthServer(srv, &healthSvc{})
	served, err := orygrpc.New(guard, orygrpc.Config{Public: []string{methodList}, Optional: []string{methodWatch},
		Methods: map[string][]core.Option{methodCheck: {core.RequireAAL2()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := served.Validate(srv); err != nil {
		t.Errorf("Validate with served names: %v", err)
	}
	misspelt, err := orygrpc.New(guard, orygrpc.Config{Methods: map[string][]core.Option{"/grpc.health.v1.Healthz/Check": {core.RequireAAL2()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := misspelt.Validate(srv); err == nil || !strings.Contains(err.Error(), "/grpc.health.v1.Healthz/Check") {
		t.Errorf("Validate = %v, want an error naming the misspelt method", err)
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
