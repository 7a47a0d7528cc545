package oryhttp_test

import (
	"net/http"
	"testing"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every row of the table, with the session cache off
// and on, then hostile input on a real server.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryhttp in front of a plain http.Handler.
type target struct{}

// Name implements conformance.Target.
func (target) Name() string { return "net/http" }

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(oryhttp.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
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
	return conformance.Recorder(protected(oryhttp.MiddlewareWithConfig(guard, mc), probe))
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.LogoutHandler(guard))
}

// Listen implements conformance.Target.
func (target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
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
