// Package oryhttptest mounts oryhttp for oryguard's conformance suite
// (core/conformance), which checks every answer an adapter gives against one
// table:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, oryhttptest.Target{}) }
//
// An author of a new adapter can read it as a worked example of a
// conformance.Target.
package oryhttptest

import (
	"net/http"
	"testing"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Target mounts oryhttp for core/conformance: adapter authors and the
// repository's end-to-end suite use it. It wraps a plain http.Handler in the
// middleware and serves requests with an httptest recorder, or with
// net/http's server on a loopback port for Listen. For the permission rows
// (conformance.ParamTarget) it wraps the handler an http.ServeMux registers
// on the pattern /docs/{id}.
type Target struct{}

var _ conformance.ParamTarget = Target{}

// Name implements conformance.Target.
func (Target) Name() string { return "net/http" }

// Protected implements conformance.Target.
func (Target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(oryhttp.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target.
func (Target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(withConfig(guard, cfg), probe))
}

// withConfig is MiddlewareWithConfig for the suite's settings.
func withConfig(guard *core.Guard, cfg conformance.TargetConfig) func(http.Handler) http.Handler {
	mc := oryhttp.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(r *http.Request) bool { return cfg.Skip(r.URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			if p := cfg.ErrorHandler(err); p.Default {
				oryhttp.DefaultErrorHandler(w, r, p.Err)
			} else {
				p.Write(w)
			}
		}
	}
	return oryhttp.MiddlewareWithConfig(guard, mc)
}

// paramPattern is the ServeMux pattern of the route with a path parameter
// that the ParamTarget methods mount.
const paramPattern = "/docs/{id}"

// ProtectedParam implements conformance.ParamTarget: the middleware wraps
// the handler registered on paramPattern, where ServeMux has set the path
// values.
func (Target) ProtectedParam(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	mux := http.NewServeMux()
	mux.Handle(paramPattern, protected(oryhttp.Middleware(guard, opts...), probe))
	return conformance.Recorder(mux)
}

// ProtectedParamWithConfig implements conformance.ParamTarget.
func (Target) ProtectedParamWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mux := http.NewServeMux()
	mux.Handle(paramPattern, protected(withConfig(guard, cfg), probe))
	return conformance.Recorder(mux)
}

// ProtectedGlobal implements conformance.ParamTarget: the middleware wraps
// the whole ServeMux, so it runs before the mux matched a pattern and sees
// no path values.
func (Target) ProtectedGlobal(guard *core.Guard, opts []core.Option, probe *conformance.Probe) (conformance.Server, bool) {
	mux := http.NewServeMux()
	mux.Handle(paramPattern, protected(func(h http.Handler) http.Handler { return h }, probe))
	return conformance.Recorder(oryhttp.Middleware(guard, opts...)(mux)), false
}

// Refresh implements conformance.Target.
func (Target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (Target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.LogoutHandler(guard))
}

// Listen implements conformance.Target.
func (Target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	return conformance.ListenHTTP(t, protected(oryhttp.Middleware(guard), probe))
}

// protected is mw in front of the protected handler.
func protected(mw func(http.Handler) http.Handler, probe *conformance.Probe) http.Handler {
	return mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body := probe.Observe(conformance.Read(oryhttp.Session(ctx)), conformance.Read(core.SessionFromContext(ctx)), oryhttp.SessionError(ctx))
		w.Header().Set("Content-Type", conformance.ProtectedContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
}
