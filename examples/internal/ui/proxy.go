package ui

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"

	oryproxy "github.com/oryguard/oryguard/adapters/proxy"
	"github.com/oryguard/oryguard/core"
)

// ProxyPrefix is where every example app mounts the Ory proxy; the mount
// pattern for each framework's router is this plus its wildcard.
const ProxyPrefix = oryproxy.DefaultPrefix

// Origin is the app's public origin: $APP_URL's scheme and host, or
// http://$Addr without it.
func (e Env) Origin() string {
	if u, err := url.Parse(e.AppURL); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return "http://" + e.Addr
}

// GuardConfig is the guard's configuration for the examples: whoami goes
// to Ory, browsers go to the app's own Ory proxy (core.Config.BrowserURL),
// so Ory's cookies are set for the app's host; permission checks go to
// PermissionsURL.
func (e Env) GuardConfig() core.Config {
	return core.Config{OryURL: e.OryURL, AppURL: e.AppURL, BrowserURL: e.Origin() + ProxyPrefix,
		Permissions: core.PermissionsConfig{URL: e.PermissionsURL, APIKey: e.APIKey}}
}

// Ory is what an example app serves of Ory on its own origin: the proxy
// (mount it under ProxyPrefix, outside the guard) and the self-service
// pages, which fetch their flows through it.
type Ory struct {
	Proxy *oryproxy.Proxy
	Flows *Flows
}

// NewOry builds the proxy to Ory at oryURL for the app at origin, telling
// guard about logouts, and the flow pages that use it.
func NewOry(oryURL, origin string, guard *core.Guard, logger *slog.Logger) (*Ory, error) {
	p, err := oryproxy.New(oryproxy.Config{OryURL: oryURL, AppURL: origin, Guard: guard, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("ory proxy: %w", err)
	}
	return &Ory{Proxy: p, Flows: newFlows(p.URL(), handlerTransport{p})}, nil
}

// handlerTransport sends the flow pages' requests to the proxy in
// process: the same path, header filtering and URL rewriting as a
// browser's request, without a network round trip to the app itself.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder() // flows are small: the answer is buffered
	t.h.ServeHTTP(rec, in)
	if r.Body != nil {
		_ = r.Body.Close() // a RoundTripper closes the request body
	}
	return rec.Result(), nil
}
