package mount

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Adapter is one framework adapter.
type Adapter struct {
	// Target mounts the adapter in process, as core/conformance's cases
	// expect: the short form and the config form in front of the probe
	// handler, RefreshHandler and LogoutHandler.
	Target conformance.Target
	// Serve starts a real HTTP server of the adapter's framework on a free
	// port of 127.0.0.1 that serves routes.
	Serve func(routes ...Route) (*App, error)
}

// Name names the adapter as the conformance suite does, e.g. "net/http",
// "gin", "fiberv3".
func (a Adapter) Name() string { return a.Target.Name() }

// Adapters returns every adapter, in a fixed order: net/http, gin, echo,
// echov5, fiber, fiberv3.
func Adapters() []Adapter {
	return []Adapter{
		{NetHTTP{}, serveNetHTTP},
		{Gin{}, serveGin},
		{Echo{}, serveEcho},
		{EchoV5{}, serveEchoV5},
		{Fiber{}, serveFiber},
		{FiberV3{}, serveFiberV3},
	}
}

// Targets returns every adapter's Target, in the order of Adapters.
func Targets() []conformance.Target {
	as := Adapters()
	ts := make([]conformance.Target, len(as))
	for i, a := range as {
		ts[i] = a.Target
	}
	return ts
}

// Lookup returns the adapter named name (see Adapter.Name).
func Lookup(name string) (Adapter, error) {
	for _, a := range Adapters() {
		if a.Name() == name {
			return a, nil
		}
	}
	return Adapter{}, fmt.Errorf("mount: no adapter named %q", name)
}

// ReplyContentType is the Content-Type of every Route's answer.
const ReplyContentType = "text/plain"

// Route is one GET route of an App.
type Route struct {
	// Path is the route's path, e.g. "/protected".
	Path string
	// Guard, when set, puts the adapter's short form, Middleware(Guard,
	// Options...), in front of the handler. Without it the route is open.
	Guard   *core.Guard
	Options []core.Option
	// Reply runs in the handler with the session the adapter's accessor
	// returned (nil when there is none); it returns the body of the
	// handler's 200 answer (Content-Type ReplyContentType).
	Reply func(*client.Session) []byte
}

// App is a running HTTP server of one adapter.
type App struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL  string
	stop func() error
}

// Close shuts the server down, waiting up to five seconds for requests in
// flight.
func (a *App) Close() error { return a.stop() }

// shutdownTimeout bounds App.Close.
const shutdownTimeout = 5 * time.Second

func listen() (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mount: listen on loopback: %w", err)
	}
	return ln, nil
}

// serveHandler serves h with net/http's server on a new loopback listener.
func serveHandler(h http.Handler) (*App, error) {
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &App{URL: "http://" + ln.Addr().String(), stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(ctx)
	}}, nil
}

// session returns s when ok, else nil.
func session(s *client.Session, ok bool) *client.Session {
	if !ok {
		return nil
	}
	return s
}
