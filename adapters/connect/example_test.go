package oryconnect_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
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
