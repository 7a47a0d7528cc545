package oryconnect_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	client "github.com/ory/client-go"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// greeter is a health Checker that greets the caller.
type greeter struct{}

func (greeter) Check(ctx context.Context, _ *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	s, _ := oryconnect.Session(ctx)
	traits, _ := core.Traits[struct{ Email string }](s)
	fmt.Println("handler sees", traits.Email)
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// A Connect service whose procedures need a session.
func Example() {
	ory := orytest.NewServer() // stands in for Ory in this example
	defer ory.Close()
	ory.Session("token-1", orytest.ActiveSession("s1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	guardrpc, err := oryconnect.New(guard, oryconnect.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := guardrpc.Validate("/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(grpchealth.NewHandler(greeter{}, connect.WithInterceptors(guardrpc)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	health := grpchealth.NewClient(srv.Client(), srv.URL)
	_, err = health.Check(context.Background(), &grpchealth.CheckRequest{})
	fmt.Println("without a token:", connect.CodeOf(err))

	withToken := grpchealth.NewClient(srv.Client(), srv.URL, connect.WithInterceptors(connect.UnaryInterceptorFunc(
		func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("X-Session-Token", "token-1")
				return next(ctx, req)
			}
		})))
	_, err = withToken.Check(context.Background(), &grpchealth.CheckRequest{})
	fmt.Println("with a token:", err == nil)
	// Output:
	// without a token: unauthenticated
	// handler sees ada@example.com
	// with a token: true
}

// An app that answers calls without a session with its own error and
// requires a verified email address (core.Check) on one procedure; every
// other denial keeps the standard error.
func Example_errorHandler() {
	ory := orytest.NewServer() // stands in for Ory in this example
	defer ory.Close()
	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	errUnverified := errors.New("verify your email address first")
	guardrpc, err := oryconnect.New(guard, oryconnect.Config{
		Procedures: map[string][]core.Option{
			"/grpc.health.v1.Health/Check": {core.Check(func(_ context.Context, s *client.Session) error {
				for _, a := range s.Identity.VerifiableAddresses {
					if a.Verified {
						return nil
					}
				}
				return errUnverified
			})},
		},
		ErrorHandler: func(ctx context.Context, procedure string, err error) error {
			switch {
			case errors.Is(err, core.ErrNoSession):
				return connect.NewError(connect.CodeUnauthenticated, errors.New("sign in with the app first"))
			case errors.Is(err, errUnverified): // the Check's error: safe to show here
				return connect.NewError(connect.CodeFailedPrecondition, errUnverified)
			}
			return oryconnect.DefaultErrorHandler(ctx, procedure, err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(grpchealth.NewHandler(greeter{}, connect.WithInterceptors(guardrpc)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	_, err = grpchealth.NewClient(srv.Client(), srv.URL).Check(context.Background(), &grpchealth.CheckRequest{})
	var ce *connect.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Code(), ce.Message())
	}
	// Output:
	// unauthenticated sign in with the app first
}

// A procedure whose permission check reads its object from the request
// message: Check asks Ory Permissions (Keto) whether the caller may call
// the service named in the request. (grpchealth keeps its generated
// request type internal; with your own generated code, M is its pointer
// type, such as *docsv1.GetRequest.)
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
	guardrpc, err := oryconnect.New(guard, oryconnect.Config{Procedures: map[string][]core.Option{
		"/grpc.health.v1.Health/Check": {oryconnect.Permit("services", "call",
			func(m interface{ GetService() string }) string { return m.GetService() })},
	}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(grpchealth.NewHandler(greeter{}, connect.WithInterceptors(guardrpc)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	health := grpchealth.NewClient(srv.Client(), srv.URL, connect.WithInterceptors(connect.UnaryInterceptorFunc(
		func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("X-Session-Token", "token-1")
				return next(ctx, req)
			}
		})))
	for _, service := range []string{"billing", "payroll"} {
		if _, err := health.Check(context.Background(), &grpchealth.CheckRequest{Service: service}); err != nil {
			fmt.Println(service+":", connect.CodeOf(err))
			continue
		}
		fmt.Println(service + ": allowed")
	}
	// Output:
	// handler sees ada@example.com
	// billing: allowed
	// payroll: permission_denied
}
