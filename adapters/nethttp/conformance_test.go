package oryhttp_test

import (
	"net/http"
	"testing"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every case of the table, with the session cache off
// and on. internal/conformance runs the same target (a copy of this one)
// beside the other adapters and checks that they all answer alike.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryhttp on a plain http.Handler.
type target struct{}

// Name implements conformance.Target.
func (target) Name() string { return "net/http" }

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(oryhttp.Middleware(guard, opts...)(netHTTPHandler(probe)))
}

// ProtectedWithConfig implements conformance.Target.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryhttp.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(r *http.Request) bool { return cfg.Skip(r.URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			if p := cfg.ErrorHandler(err); !p.Default {
				p.Write(w)
				return
			}
			oryhttp.DefaultErrorHandler(w, r, err)
		}
	}
	return conformance.Recorder(oryhttp.MiddlewareWithConfig(guard, mc)(netHTTPHandler(probe)))
}

func netHTTPHandler(probe *conformance.Probe) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body := probe.Observe(conformance.Read(oryhttp.Session(ctx)), conformance.Read(core.SessionFromContext(ctx)), oryhttp.SessionError(ctx))
		w.Header().Set("Content-Type", conformance.ProtectedContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.LogoutHandler(guard))
}
