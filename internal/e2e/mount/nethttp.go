package mount

import (
	"net/http"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// NetHTTP mounts oryhttp on a plain http.Handler.
type NetHTTP struct{}

// Name implements conformance.Target.
func (NetHTTP) Name() string { return "net/http" }

// Protected implements conformance.Target.
func (NetHTTP) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(oryhttp.Middleware(guard, opts...)(netHTTPProbe(probe)))
}

// ProtectedWithConfig implements conformance.Target.
func (NetHTTP) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
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
	return conformance.Recorder(oryhttp.MiddlewareWithConfig(guard, mc)(netHTTPProbe(probe)))
}

func netHTTPProbe(probe *conformance.Probe) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body := probe.Observe(conformance.Read(oryhttp.Session(ctx)), conformance.Read(core.SessionFromContext(ctx)), oryhttp.SessionError(ctx))
		w.Header().Set("Content-Type", conformance.ProtectedContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// Refresh implements conformance.Target.
func (NetHTTP) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (NetHTTP) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(oryhttp.LogoutHandler(guard))
}

// serveNetHTTP serves routes with an http.ServeMux.
func serveNetHTTP(routes ...Route) (*App, error) {
	mux := http.NewServeMux()
	for _, rt := range routes {
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := rt.Reply(session(oryhttp.Session(r.Context())))
			w.Header().Set("Content-Type", ReplyContentType)
			_, _ = w.Write(body)
		})
		if rt.Guard != nil {
			h = oryhttp.Middleware(rt.Guard, rt.Options...)(h)
		}
		mux.Handle("GET "+rt.Path, h)
	}
	return serveHandler(mux)
}
