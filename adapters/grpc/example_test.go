package orygrpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"

	client "github.com/ory/client-go"
	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// whoAmI is a health service whose Check greets the caller.
type whoAmI struct {
	healthgrpc.UnimplementedHealthServer
}

func (whoAmI) Check(ctx context.Context, _ *healthgrpc.HealthCheckRequest) (*healthgrpc.HealthCheckResponse, error) {
	s, _ := orygrpc.Session(ctx)
	traits, _ := core.Traits[struct{ Email string }](s)
	fmt.Println("handler sees", traits.Email)
	return &healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}, nil
}

// A gRPC server whose methods need a session, except List, which is public.
func Example() {
	ory := orytest.NewServer() // stands in for Ory in this example
	defer ory.Close()
	ory.Session("token-1", orytest.ActiveSession("s1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	guardrpc, err := orygrpc.New(guard, orygrpc.Config{Public: []string{"/grpc.health.v1.Health/List"}})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(guardrpc.ServerOptions()...)
	healthgrpc.RegisterHealthServer(srv, whoAmI{})
	if err := guardrpc.Validate(srv); err != nil {
		log.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	health := healthgrpc.NewHealthClient(conn)

	_, err = health.Check(context.Background(), &healthgrpc.HealthCheckRequest{})
	fmt.Println("without a token:", status.Code(err))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-session-token", "token-1")
	_, err = health.Check(ctx, &healthgrpc.HealthCheckRequest{})
	fmt.Println("with a token:", status.Code(err))
	// Output:
	// without a token: Unauthenticated
	// handler sees ada@example.com
	// with a token: OK
}

// An app that answers calls without a session with its own status and
// requires a verified email address (core.Check) on one method; every
// other denial keeps the standard status.
func Example_errorHandler() {
	ory := orytest.NewServer() // stands in for Ory in this example
	defer ory.Close()
	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	errUnverified := errors.New("verify your email address first")
	guardrpc, err := orygrpc.New(guard, orygrpc.Config{
		Methods: map[string][]core.Option{
			"/grpc.health.v1.Health/Check": {core.Check(func(_ context.Context, s *client.Session) error {
				for _, a := range s.Identity.VerifiableAddresses {
					if a.Verified {
						return nil
					}
				}
				return errUnverified
			})},
		},
		ErrorHandler: func(ctx context.Context, method string, err error) error {
			switch {
			case errors.Is(err, core.ErrNoSession):
				return status.Error(codes.Unauthenticated, "sign in with the app first")
			case errors.Is(err, errUnverified): // the Check's error: safe to show here
				return status.Error(codes.FailedPrecondition, errUnverified.Error())
			}
			return orygrpc.DefaultErrorHandler(ctx, method, err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Call the interceptor in process, as gRPC would for a call without
	// credentials.
	_, err = guardrpc.Unary()(context.Background(), nil,
		&grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"},
		func(context.Context, any) (any, error) { return "ran", nil })
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// Unauthenticated sign in with the app first
}

// A method whose permission check reads its object from the request
// message: Check asks Ory Permissions (Keto) whether the caller may call
// the service named in the request.
func ExamplePermit() {
	ory := orytest.NewServer() // stands in for Ory in this example
	defer ory.Close()
	ory.Session("token-1", orytest.ActiveSession("s1", "ada@example.com"))
	keto := orytest.NewKeto() // stands in for Keto
	defer keto.Close()
	keto.Allow("services", "billing", "call", "identity-s1") // Ada may call billing

	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler),
		Permissions: core.PermissionsConfig{URL: keto.URL}})
	if err != nil {
		log.Fatal(err)
	}
	guardrpc, err := orygrpc.New(guard, orygrpc.Config{Methods: map[string][]core.Option{
		"/grpc.health.v1.Health/Check": {orygrpc.Permit("services", "call",
			func(m *healthgrpc.HealthCheckRequest) string { return m.GetService() })},
	}})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(guardrpc.ServerOptions()...)
	healthgrpc.RegisterHealthServer(srv, whoAmI{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	health := healthgrpc.NewHealthClient(conn)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-session-token", "token-1")
	for _, service := range []string{"billing", "payroll"} {
		_, err = health.Check(ctx, &healthgrpc.HealthCheckRequest{Service: service})
		fmt.Println(service+":", status.Code(err))
	}
	// Output:
	// handler sees ada@example.com
	// billing: OK
	// payroll: PermissionDenied
}
