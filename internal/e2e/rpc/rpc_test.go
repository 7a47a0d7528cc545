package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	procCheck = "/grpc.health.v1.Health/Check"
	procList  = "/grpc.health.v1.Health/List"
	procWatch = "/grpc.health.v1.Health/Watch"
)

// seen records the session ids the handlers saw.
type seen struct {
	mu  sync.Mutex
	ids []string
}

func (s *seen) add(id string) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
}

func (s *seen) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ids) == 0 {
		return ""
	}
	return s.ids[len(s.ids)-1]
}

// grpcHealth is grpc_health_v1 whose handlers record the caller's session;
// Watch sends three messages, or with forever one every 10ms until the
// stream ends.
type grpcHealth struct {
	healthgrpc.UnimplementedHealthServer
	seen    *seen
	forever bool
}

func (h grpcHealth) record(ctx context.Context) {
	if s, ok := orygrpc.Session(ctx); ok {
		h.seen.add(s.Id)
	}
}

func (h grpcHealth) Check(ctx context.Context, _ *healthgrpc.HealthCheckRequest) (*healthgrpc.HealthCheckResponse, error) {
	h.record(ctx)
	return &healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}, nil
}

func (h grpcHealth) List(ctx context.Context, _ *healthgrpc.HealthListRequest) (*healthgrpc.HealthListResponse, error) {
	h.record(ctx)
	return &healthgrpc.HealthListResponse{}, nil
}

func (h grpcHealth) Watch(_ *healthgrpc.HealthCheckRequest, stream healthgrpc.Health_WatchServer) error {
	h.record(stream.Context())
	for i := 0; h.forever || i < 3; i++ {
		if err := stream.Send(&healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
		if h.forever {
			select {
			case <-stream.Context().Done():
				return stream.Context().Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// connectHealth is a grpchealth Checker and Watcher recording the caller's
// session; its Watch reports a change every 10ms.
type connectHealth struct{ seen *seen }

func (h connectHealth) Check(ctx context.Context, _ *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if s, ok := oryconnect.Session(ctx); ok {
		h.seen.add(s.Id)
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

func (h connectHealth) Watch(context.Context, *grpchealth.CheckRequest, func()) (func(), error) {
	return func() {}, nil // the handler sends the current status once
}

// sentToOry records the headers of every request the guard sends to Kratos.
type sentToOry struct {
	mu      sync.Mutex
	headers []http.Header
}

func (s *sentToOry) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// carrying lists the headers sent to Kratos that contain v.
func (s *sentToOry) carrying(v string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, h := range s.headers {
		for k, vs := range h {
			for _, x := range vs {
				if strings.Contains(x, v) {
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// guard is a guard on Kratos with the cache off, so a logout is seen at
// once; sent records what it sends to Kratos.
func guard(t *testing.T, oryURL string, sent *sentToOry) *core.Guard {
	t.Helper()
	g, err := core.New(core.Config{OryURL: oryURL, Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{Transport: sent}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// startGRPC serves grpc_health_v1 on a loopback port, List needing aal2.
// With recheck, Watch streams until the client or a re-check ends it.
func startGRPC(t *testing.T, g *core.Guard, s *seen, recheck time.Duration) healthgrpc.HealthClient {
	t.Helper()
	ic, err := orygrpc.New(g, orygrpc.Config{
		Methods:       map[string][]core.Option{procList: {core.RequireAAL2()}},
		StreamRecheck: recheck,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ic.ServerOptions()...)
	healthgrpc.RegisterHealthServer(srv, grpcHealth{seen: s, forever: recheck > 0})
	if err := ic.Validate(srv); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return healthgrpc.NewHealthClient(conn)
}

// startConnect serves grpchealth with cfg on HTTP/1.1 and h2c.
func startConnect(t *testing.T, g *core.Guard, s *seen, cfg oryconnect.Config) string {
	t.Helper()
	ic, err := oryconnect.New(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.Validate(procCheck, procWatch); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(grpchealth.NewHandler(connectHealth{seen: s}, connect.WithInterceptors(ic)))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// tokenTransport sends the session token with every call over HTTP/1.1 or
// HTTP/2 without TLS.
type tokenTransport struct {
	base  *http.Transport
	token string
}

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Session-Token", t.token)
	return t.base.RoundTrip(r)
}

func connectClient(url, token string, h2 bool) *grpchealth.Client {
	base := &http.Transport{Protocols: new(http.Protocols)}
	if h2 {
		base.Protocols.SetUnencryptedHTTP2(true)
	} else {
		base.Protocols.SetHTTP1(true)
	}
	return grpchealth.NewClient(&http.Client{Transport: tokenTransport{base, token}}, url)
}

// errorInfo is the oryguard ErrorInfo among a status's details.
func errorInfo(details []any) *errdetails.ErrorInfo {
	for _, d := range details {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == core.RPCErrorDomain {
			return info
		}
	}
	return nil
}

func connectErrorInfo(err error) *errdetails.ErrorInfo {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []any
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			out = append(out, v)
		}
	}
	return errorInfo(out)
}

func TestRPCWithKratos(t *testing.T) {
	k := harness.StartKratosT(t, harness.KratosOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	email := fmt.Sprintf("rpc-%d@example.com", time.Now().UnixNano())
	sess, err := k.RegisterAPI(ctx, email, "correct horse battery staple 42")
	if err != nil {
		t.Fatal(err)
	}

	sent := &sentToOry{}
	g := guard(t, k.PublicURL(), sent)
	s := &seen{}
	grpcClient := startGRPC(t, g, s, 0)
	rechecking := startGRPC(t, g, s, 50*time.Millisecond)
	plainURL := startConnect(t, g, s, oryconnect.Config{})
	stepUpURL := startConnect(t, g, s, oryconnect.Config{Procedures: map[string][]core.Option{procCheck: {core.RequireAAL2()}}})
	tokenCtx := metadata.AppendToOutgoingContext(ctx, "x-session-token", sess.Token)

	grpcUnary := func() error {
		_, err := grpcClient.Check(tokenCtx, &healthgrpc.HealthCheckRequest{})
		return err
	}
	grpcStream := func() error {
		stream, err := grpcClient.Watch(tokenCtx, &healthgrpc.HealthCheckRequest{})
		if err != nil {
			return err
		}
		n := 0
		for {
			if _, err := stream.Recv(); err != nil {
				if n == 3 && errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			n++
		}
	}
	connectUnary := func(h2 bool) func() error {
		return func() error {
			_, err := connectClient(plainURL, sess.Token, h2).Check(ctx, &grpchealth.CheckRequest{})
			return err
		}
	}
	connectStream := func(h2 bool) func() error {
		return func() error {
			for ev := range connectClient(plainURL, sess.Token, h2).Watch(ctx, &grpchealth.CheckRequest{}) {
				return ev.Err
			}
			return errors.New("stream closed without a message")
		}
	}
	calls := []struct {
		name    string
		call    func() error
		connect bool
	}{
		{"grpc unary", grpcUnary, false},
		{"grpc stream", grpcStream, false},
		{"connect http1 unary", connectUnary(false), true},
		{"connect http1 stream", connectStream(false), true},
		{"connect h2c unary", connectUnary(true), true},
		{"connect h2c stream", connectStream(true), true},
	}
	code := func(err error, isConnect bool) string {
		if isConnect {
			if err == nil {
				return "ok"
			}
			return connect.CodeOf(err).String()
		}
		return strings.ToLower(status.Code(err).String())
	}

	for _, c := range calls {
		t.Run("session/"+c.name, func(t *testing.T) {
			if err := c.call(); err != nil {
				t.Fatalf("call with a fresh session: %v", err)
			}
			if got := s.last(); got != sess.SessionID {
				t.Errorf("handler saw session %q, want %q", got, sess.SessionID)
			}
		})
	}

	t.Run("step-up/grpc", func(t *testing.T) {
		_, err := grpcClient.List(tokenCtx, &healthgrpc.HealthListRequest{})
		st := status.Convert(err)
		info := errorInfo(st.Details())
		if st.Code() != codes.PermissionDenied || info.GetReason() != string(core.ReasonAAL2Required) ||
			!strings.Contains(info.GetMetadata()[core.RPCMetadataRedirect], "aal=aal2") {
			t.Fatalf("aal1 session on an aal2 method: %v, ErrorInfo %v", err, info)
		}
	})
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("step-up/connect h2c=%v", h2), func(t *testing.T) {
			_, err := connectClient(stepUpURL, sess.Token, h2).Check(ctx, &grpchealth.CheckRequest{})
			info := connectErrorInfo(err)
			if connect.CodeOf(err) != connect.CodePermissionDenied || info.GetReason() != string(core.ReasonAAL2Required) ||
				!strings.Contains(info.GetMetadata()[core.RPCMetadataRedirect], "aal=aal2") {
				t.Fatalf("aal1 session on an aal2 procedure: %v, ErrorInfo %v", err, info)
			}
		})
	}

	t.Run("unrelated metadata stays home/grpc", func(t *testing.T) {
		md := metadata.AppendToOutgoingContext(tokenCtx, "x-api-key", "app-secret-1", "cookie", "theme=app-secret-2")
		if _, err := grpcClient.Check(md, &healthgrpc.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := sent.carrying("app-secret"); len(got) > 0 {
			t.Fatalf("unrelated metadata reached Kratos in %v", got)
		}
	})

	// A browser's session cookie, as a gRPC-Web proxy or a Connect call from
	// a web page carries it, among the page's other cookies.
	bs, err := k.RegisterBrowser(ctx, "web-"+email, "correct horse battery staple 43")
	if err != nil {
		t.Fatal(err)
	}
	cookie := "theme=dark; " + bs.Cookie.Name + "=" + bs.Cookie.Value
	t.Run("browser cookie/grpc", func(t *testing.T) {
		md := metadata.AppendToOutgoingContext(ctx, "cookie", cookie)
		if _, err := grpcClient.Check(md, &healthgrpc.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		if got := s.last(); got != bs.SessionID {
			t.Errorf("handler saw session %q, want %q", got, bs.SessionID)
		}
	})
	t.Run("browser cookie/connect json over http1", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, plainURL+procCheck, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "SERVING") {
			t.Fatalf("browser call: %s %s", res.Status, body)
		}
		if got := s.last(); got != bs.SessionID {
			t.Errorf("handler saw session %q, want %q", got, bs.SessionID)
		}
	})

	// A long-lived stream opened before the logout, on a server that
	// re-checks open streams.
	longStream, err := rechecking.Watch(tokenCtx, &healthgrpc.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := longStream.Recv(); err != nil {
		t.Fatal(err)
	}

	if err := k.LogoutAPI(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	t.Run("after logout/open grpc stream ends", func(t *testing.T) {
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if _, err = longStream.Recv(); err != nil {
				break
			}
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("open stream after logout: %v, want Unauthenticated", err)
		}
	})
	for _, c := range calls {
		t.Run("after logout/"+c.name, func(t *testing.T) {
			if got := code(c.call(), c.connect); got != "unauthenticated" {
				t.Fatalf("after logout: %s, want unauthenticated", got)
			}
		})
	}

	if err := k.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		t.Run("kratos stopped/"+c.name, func(t *testing.T) {
			if got := code(c.call(), c.connect); got != "unavailable" {
				t.Fatalf("with Kratos stopped: %s, want unavailable", got)
			}
		})
	}
}
