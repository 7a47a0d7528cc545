package oryecho_test

import (
	"net/http"
	"testing"

	echov5 "github.com/labstack/echo/v5"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every case of the table, with the session cache off
// and on. internal/conformance runs the same target (a copy of this one)
// beside the other adapters and checks that they all answer alike.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryecho (Echo v5) with e.Use in front of a catch-all route.
type target struct{}

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	e := echov5.New()
	e.Use(oryechov5.Middleware(guard, opts...))
	return echoV5Serve(e, probe)
}

// ProtectedWithConfig implements conformance.Target: Echo's HTTPErrorHandler
// reports to the probe.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryechov5.Config{Options: cfg.Options}
	if skip := cfg.Skip; skip != nil {
		mc.Skipper = func(c *echov5.Context) bool { return skip(c.Request().URL.Path) }
	}
	if pick := cfg.ErrorHandler; pick != nil {
		mc.ErrorHandler = func(c *echov5.Context, err error) error {
			p := pick(err)
			if p.Default {
				return oryechov5.DefaultErrorHandler(c, err)
			}
			if p.Return {
				return err
			}
			return c.Blob(p.Status, conformance.PageContentType, p.Body)
		}
	}
	e := echov5.New()
	e.HTTPErrorHandler = func(c *echov5.Context, err error) { probe.FrameworkError(err).Write(c.Response()) }
	e.Use(oryechov5.MiddlewareWithConfig(guard, mc))
	return echoV5Serve(e, probe)
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return echoV5Route(oryechov5.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return echoV5Route(oryechov5.LogoutHandler(guard))
}

// Name implements conformance.Target.
func (target) Name() string { return "echov5" }

// ReturnsErrors implements conformance.ErrorReturner.
func (target) ReturnsErrors() {}

// echoV5Route serves every path with h.
func echoV5Route(h echov5.HandlerFunc) conformance.Server {
	e := echov5.New()
	e.Any("/*", h)
	return conformance.Recorder(e)
}

// echoV5Serve adds the protected catch-all route to e.
func echoV5Serve(e *echov5.Echo, probe *conformance.Probe) conformance.Server {
	e.Any("/*", func(c *echov5.Context) error {
		body := probe.Observe(conformance.Read(oryechov5.Session(c)), conformance.Read(core.SessionFromContext(c.Request().Context())), oryechov5.SessionError(c))
		return c.Blob(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return conformance.Recorder(e)
}
