package oryconnect_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

const (
	procCheck = "/grpc.health.v1.Health/Check"
	procWatch = "/grpc.health.v1.Health/Watch"
)

// checker is a grpchealth Checker and Watcher that records the session
// each call's handler saw. Its status alternates and Watch reports a change
// every 10ms, so a Watch stream keeps sending.
type checker struct {
	n    atomic.Int64
	mu   sync.Mutex
	seen []string
}

func (c *checker) Check(ctx context.Context, _ *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	c.mu.Lock()
	if s, ok := oryconnect.Session(ctx); ok {
		c.seen = append(c.seen, s.Id)
	} else {
		c.seen = append(c.seen, "anonymous: "+oryconnect.SessionError(ctx).Error())
	}
	c.mu.Unlock()
	st := grpchealth.StatusServing
	if c.n.Add(1)%2 == 0 {
		st = grpchealth.StatusNotServing
	}
	return &grpchealth.CheckResponse{Status: st}, nil
}

func (c *checker) Watch(_ context.Context, _ *grpchealth.CheckRequest, onChange func()) (func(), error) {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				onChange()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop) }) }, nil
}

func (c *checker) first() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		return ""
	}
	return c.seen[0]
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

// headers adds fixed request headers to every call a client makes.
type headers struct {
	base http.RoundTripper
	h    http.Header
}

func (t headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.h {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return t.base.RoundTrip(r)
}

// transport is one way of calling the server: a protocol over HTTP/1.1 or
// HTTP/2 without TLS (h2c).
type transport struct {
	name  string
	h2c   bool
	proto []connect.ClientOption
}

var transports = []transport{
	{"connect/http1", false, nil},
	{"connect/h2c", true, nil},
	{"grpc-web/http1", false, []connect.ClientOption{connect.WithGRPCWeb()}},
	{"grpc/h2c", true, []connect.ClientOption{connect.WithGRPC()}},
}

type env struct {
	ory  *orytest.Server
	sent *recorder
	chk  *checker
	ic   *oryconnect.Interceptor
	url  string
	tr   transport
}

func start(t *testing.T, tr transport, coreCfg core.Config, cfg oryconnect.Config) *env {
	t.Helper()
	e := &env{ory: orytest.NewServer(), sent: &recorder{}, chk: &checker{}, tr: tr}
	t.Cleanup(e.ory.Close)
	coreCfg.OryURL = e.ory.URL
	coreCfg.HTTPClient = &http.Client{Transport: e.sent}
	coreCfg.Logger = slog.New(slog.DiscardHandler)
	guard, err := core.New(coreCfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.ic, err = oryconnect.New(guard, cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.ic.Validate(procCheck, procWatch); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(grpchealth.NewHandler(e.chk, connect.WithInterceptors(e.ic)))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// client calls the server over e's transport with the given request
// headers.
func (e *env) client(h http.Header) *grpchealth.Client {
	base := &http.Transport{Protocols: new(http.Protocols)}
	if e.tr.h2c {
		base.Protocols.SetUnencryptedHTTP2(true)
	} else {
		base.Protocols.SetHTTP1(true)
	}
	return grpchealth.NewClient(&http.Client{Transport: headers{base, h}}, e.url, e.tr.proto...)
}

func call(ctx context.Context, c *grpchealth.Client, proc string) error {
	if proc == procWatch {
		for ev := range c.Watch(ctx, &grpchealth.CheckRequest{}) {
			return ev.Err // the first message, or the error
		}
		return errors.New("stream closed without a message")
	}
	_, err := c.Check(ctx, &grpchealth.CheckRequest{})
	return err
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestOnlyCredentialReachesOry: what the guard sends to Ory is Ory's
// credential alone, whatever else the call carries.
func TestOnlyCredentialReachesOry(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := start(t, tr, core.Config{}, oryconnect.Config{})
			e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			h := hdr("Cookie", "theme=dark; tracking=xyz", "Cookie", "ory_kratos_session=tok", "X-Api-Key", "app-secret",
				"X-Forwarded-For", "10.0.0.1", "Authorization", "Basic YXBwOnNlY3JldA==")
			if err := call(context.Background(), e.client(h), procCheck); err != nil {
				t.Fatal(err)
			}
			sent := e.sent.all()
			if len(sent) != 1 {
				t.Fatalf("%d requests to Ory, want 1", len(sent))
			}
			if got := strings.Join(sent[0].Values("Cookie"), "; "); got != "ory_kratos_session=tok" {
				t.Errorf("Cookie sent to Ory = %q, want the session cookie alone", got)
			}
			for k, v := range sent[0] {
				switch k {
				case "Cookie", "Accept", "User-Agent", "Accept-Encoding":
				default:
					t.Errorf("header %s: %q reached Ory", k, v)
				}
			}
		})
	}
}

// TestHostileCredentials: credentials no Ory could issue never reach Ory
// and get Unauthenticated.
func TestHostileCredentials(t *testing.T) {
	many := http.Header{}
	for range 1000 {
		many.Add("Cookie", "ory_session_x="+strings.Repeat("a", 64))
	}
	cases := []struct {
		name string
		h    http.Header
	}{
		{"oversized token", hdr("X-Session-Token", strings.Repeat("t", 64<<10))},
		{"oversized bearer", hdr("Authorization", "Bearer "+strings.Repeat("t", 64<<10))},
		{"control characters in token", hdr("X-Session-Token", "tok\x01\x7f")},
		{"control characters in cookie", hdr("Cookie", "ory_kratos_session=tok\x01")},
		{"oversized cookie", hdr("Cookie", "ory_kratos_session="+strings.Repeat("c", 64<<10))},
		{"many cookies", many},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, transports[0], core.Config{}, oryconnect.Config{})
			ran := false
			next := func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
				ran = true
				return nil, nil
			}
			req := connect.NewRequest(&struct{}{})
			for k, vs := range tc.h {
				req.Header()[k] = vs
			}
			_, err := e.ic.WrapUnary(next)(context.Background(), fakeSpec{req, procCheck})
			if got := connect.CodeOf(err); got != connect.CodeUnauthenticated || ran {
				t.Errorf("code = %v, handler ran = %v; want Unauthenticated and no handler", got, ran)
			}
			for _, h := range e.sent.all() {
				for k, v := range h {
					for _, s := range v {
						if strings.ContainsAny(s, "\x00\x01\x7f\r\n") || len(s) > 32<<10 {
							t.Errorf("hostile %s reached Ory (%d bytes)", k, len(s))
						}
					}
				}
			}
		})
	}
}

// fakeSpec is a server-side request for procedure.
type fakeSpec struct {
	*connect.Request[struct{}]
	procedure string
}

func (f fakeSpec) Spec() connect.Spec { return connect.Spec{Procedure: f.procedure} }

// TestConfigErrors: New rejects what core.NewMethodPolicy rejects (its
// own test covers every case), and Validate rejects a procedure it is not
// given as served.
func TestConfigErrors(t *testing.T) {
	guard, err := core.New(core.Config{OryURL: "http://ory.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oryconnect.New(guard, oryconnect.Config{Public: []string{"grpc.health.v1.Health/Check"}}); err == nil || !strings.HasPrefix(err.Error(), "oryconnect: ") {
		t.Errorf("New with a name that is not a procedure: %v", err)
	}
	if _, err := oryconnect.New(nil, oryconnect.Config{}); err == nil {
		t.Error("New accepted a nil guard")
	}
	ic, err := oryconnect.New(guard, oryconnect.Config{Public: []string{procCheck},
		Procedures: map[string][]core.Option{"/grpc.health.v2.Health/Check": {core.RequireAAL2()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.Validate(procCheck, procWatch); err == nil || !strings.Contains(err.Error(), "/grpc.health.v2.Health/Check") {
		t.Errorf("Validate = %v, want an error naming the misspelt procedure", err)
	}
	if err := ic.Validate(procCheck, procWatch, "/grpc.health.v2.Health/Check"); err != nil {
		t.Errorf("Validate with served names: %v", err)
	}
}

// TestStreamRecheck: with StreamRecheck, a stream whose session is revoked
// ends with Unauthenticated; without it, the stream runs on.
func TestStreamRecheck(t *testing.T) {
	for _, tr := range transports {
		for _, tc := range []struct {
			name    string
			recheck time.Duration
			ends    bool
		}{
			{"recheck ends the stream", 20 * time.Millisecond, true},
			{"no recheck", 0, false},
		} {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				e := start(t, tr, core.Config{}, oryconnect.Config{StreamRecheck: tc.recheck})
				e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				events := e.client(hdr("X-Session-Token", "tok")).Watch(ctx, &grpchealth.CheckRequest{})
				if ev := <-events; ev.Err != nil {
					t.Fatal(ev.Err)
				}
				e.ory.Reply("tok", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()}) // revoked
				deadline := time.After(500 * time.Millisecond)
				var err error
			loop:
				for {
					select {
					case ev, ok := <-events:
						if !ok {
							err = errors.New("stream closed without an error")
							break loop
						}
						if ev.Err != nil {
							err = ev.Err
							break loop
						}
					case <-deadline:
						break loop
					}
				}
				if !tc.ends {
					if err != nil {
						t.Fatalf("stream ended without a re-check: %v", err)
					}
					return
				}
				if got := connect.CodeOf(err); got != connect.CodeUnauthenticated {
					t.Fatalf("stream ended with %v, want Unauthenticated", err)
				}
			})
		}
	}
}
