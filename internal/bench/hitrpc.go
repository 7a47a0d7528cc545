package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"google.golang.org/grpc"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// The in-process hit path of the RPC interceptors: one unary call of
// grpc.health.v1.Health/Check with a session token, guarded next to the
// same method unguarded ("<name>-open"), on a warm cache and with no
// network. orygrpc's unary interceptor is called as grpc-go calls it, with
// the token in the incoming metadata, and its open variant calls the
// method's handler directly; oryconnect's is Connect's own http.Handler of
// the health service (a POST with a JSON body) with and without the
// interceptor.

// healthCheckProcedure is the full name of the benchmarked method.
const healthCheckProcedure = "/grpc.health.v1.Health/Check"

// hitRPCs are the interceptors of the in-process rows, by case name.
var hitRPCs = []string{"grpc", "connect"}

// hitTokenGuard returns a guard with the cache on whose fake Ory knows
// benchToken.
func hitTokenGuard(b *testing.B) (*core.Guard, error) {
	ory := orytest.NewServer()
	b.Cleanup(ory.Close)
	ory.Session(benchToken, orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour}})
	if err != nil {
		return nil, fmt.Errorf("bench: guard: %w", err)
	}
	return g, nil
}

func hitRPC(name string, guarded bool) func(b *testing.B) error {
	return hitRPCWith(name, guarded, benchToken)
}

// hitRPCWith is hitRPC with the session token the calls carry ("" for
// none): every call must reach the method.
func hitRPCWith(name string, guarded bool, token string) func(b *testing.B) error {
	return func(b *testing.B) error {
		g, err := hitTokenGuard(b)
		if err != nil {
			return err
		}
		switch name {
		case "grpc":
			return hitGRPC(b, g, guarded, token)
		case "connect":
			return hitConnect(b, g, guarded, token)
		default:
			return fmt.Errorf("unknown interceptor %q", name)
		}
	}
}

// healthChecker is the gRPC health service's Check: it reads the session
// as a handler would and sets served.
type healthChecker struct {
	healthgrpc.UnimplementedHealthServer
	session func(context.Context) bool
}

func (h healthChecker) Check(ctx context.Context, _ *healthgrpc.HealthCheckRequest) (*healthgrpc.HealthCheckResponse, error) {
	served = true
	h.session(ctx)
	return &healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}, nil
}

func hitGRPC(b *testing.B, g *core.Guard, guarded bool, token string) error {
	guard, err := orygrpc.New(g, orygrpc.Config{})
	if err != nil {
		return fmt.Errorf("bench: orygrpc: %w", err)
	}
	check := healthChecker{session: func(ctx context.Context) bool { _, ok := orygrpc.Session(ctx); return ok }}
	handler := func(ctx context.Context, req any) (any, error) {
		r, _ := req.(*healthgrpc.HealthCheckRequest)
		return check.Check(ctx, r)
	}
	call := handler
	if guarded {
		unary := guard.Unary()
		info := &grpc.UnaryServerInfo{Server: check, FullMethod: healthCheckProcedure}
		call = func(ctx context.Context, req any) (any, error) { return unary(ctx, req, info, handler) }
	}
	md := metadata.Pairs("user-agent", "grpc-go/1.85.0")
	if token != "" {
		md.Set("x-session-token", token)
	}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	req := &healthgrpc.HealthCheckRequest{}
	var last error
	run := func() bool {
		served = false
		_, last = call(ctx, req)
		return served && last == nil
	}
	return loopHit(b, "grpc "+healthCheckProcedure, run, func() int { return int(orygrpc.Status(last).Code()) })
}

// connectChecker is the Connect health service's Check: it reads the
// session as a handler would and sets served.
type connectChecker struct{}

func (connectChecker) Check(ctx context.Context, _ *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	served = true
	_, _ = oryconnect.Session(ctx)
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

func hitConnect(b *testing.B, g *core.Guard, guarded bool, token string) error {
	var opts []connect.HandlerOption
	if guarded {
		guard, err := oryconnect.New(g, oryconnect.Config{})
		if err != nil {
			return fmt.Errorf("bench: oryconnect: %w", err)
		}
		opts = append(opts, connect.WithInterceptors(guard))
	}
	path, h := grpchealth.NewHandler(connectChecker{}, opts...)
	if path+"Check" != healthCheckProcedure {
		return fmt.Errorf("bench: grpchealth serves %s, not %s", path, healthCheckProcedure)
	}
	body := []byte("{}")
	rd := bytes.NewReader(body)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://app.example"+healthCheckProcedure, nil)
	if err != nil {
		return fmt.Errorf("bench: connect request: %w", err)
	}
	req.RequestURI = healthCheckProcedure
	req.Header = http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	w := &discard{h: http.Header{}}
	run := func() bool {
		served = false
		w.status = 0
		clear(w.h)
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		h.ServeHTTP(w, req)
		return served && (w.status == 0 || w.status == http.StatusOK)
	}
	return loopHit(b, "connect "+healthCheckProcedure, run, func() int { return w.status })
}
