package oryfiber_test

import (
	"net/http"
	"testing"

	fiberv3 "github.com/gofiber/fiber/v3"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every case of the table, with the session cache off
// and on. internal/conformance runs the same target (a copy of this one)
// beside the other adapters and checks that they all answer alike.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryfiber (Fiber v3) with app.Use in front of a catch-all
// route and serves requests with app.Test (a real fasthttp server over an
// in-memory connection), with a 16 KiB read buffer: fasthttp's default
// (4096 bytes for the whole header block, answered with 431 beyond) would
// stop the oversized-cookie case before the guard.
type target struct{}

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return fiberV3Serve(nil, probe, oryfiberv3.Middleware(guard, opts...))
}

// ProtectedWithConfig implements conformance.Target: the app's own ErrorHandler
// reports to the probe.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryfiberv3.Config{Options: cfg.Options}
	if skip := cfg.Skip; skip != nil {
		mc.Next = func(c fiberv3.Ctx) bool { return skip(c.Path()) }
	}
	if pick := cfg.ErrorHandler; pick != nil {
		mc.ErrorHandler = func(c fiberv3.Ctx, err error) error {
			p := pick(err)
			if p.Default {
				return oryfiberv3.DefaultErrorHandler(c, err)
			}
			if p.Return {
				return err
			}
			return fiberV3Page(c, p)
		}
	}
	onAppError := func(c fiberv3.Ctx, err error) error { return fiberV3Page(c, probe.FrameworkError(err)) }
	return fiberV3Serve(onAppError, probe, oryfiberv3.New(guard, mc))
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return fiberV3Serve(nil, nil, oryfiberv3.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return fiberV3Serve(nil, nil, oryfiberv3.LogoutHandler(guard))
}

// Name implements conformance.Target.
func (target) Name() string { return "fiberv3" }

// ReturnsErrors implements conformance.ErrorReturner.
func (target) ReturnsErrors() {}

// fiberV3Serve serves every path with h, followed by the protected handler
// when probe is set.
func fiberV3Serve(onAppError fiberv3.ErrorHandler, probe *conformance.Probe, h fiberv3.Handler) conformance.Server {
	app := fiberv3.New(fiberv3.Config{ReadBufferSize: 16 << 10, ErrorHandler: onAppError})
	if probe == nil {
		app.All("/*", h)
	} else {
		app.All("/*", h, func(c fiberv3.Ctx) error {
			body := probe.Observe(conformance.Read(oryfiberv3.Session(c)), conformance.Read(core.SessionFromContext(c.Context())), oryfiberv3.SessionError(c))
			c.Set(fiberv3.HeaderContentType, conformance.ProtectedContentType)
			return c.Status(http.StatusOK).Send(body)
		})
	}
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, fiberv3.TestConfig{Timeout: 0}) }
}

func fiberV3Page(c fiberv3.Ctx, p conformance.Page) error {
	c.Set(fiberv3.HeaderContentType, conformance.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}
