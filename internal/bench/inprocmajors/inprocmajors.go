// Package inprocmajors holds the in-process hit-path benchmarks of the
// adapters for the current majors of Fiber (v3) and Echo (v5), the same
// requests as package inproc's for their predecessors. They live apart
// because package inproc is also built at older commits (bench -baseline),
// where these adapters do not exist.
package inprocmajors

import (
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echov5"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/internal/bench/inproc"
)

// Cases lists the benchmarks, named as package inproc names its own: a
// guarded route per adapter and the same route without the guard.
func Cases() []inproc.Case {
	var cs []inproc.Case
	for _, fw := range []string{"fiberv3", "echov5"} {
		cs = append(cs, inproc.Case{Name: fw, F: bench(fw, true)}, inproc.Case{Name: fw + "-open", F: bench(fw, false)})
	}
	return cs
}

func bench(fw string, guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		g := inproc.Guard(b)
		path := "/open"
		if guarded {
			path = "/protected"
		}
		switch fw {
		case "fiberv3":
			app := fiber.New()
			next := func(c fiber.Ctx) error { _, _ = oryfiber.Session(c); inproc.MarkServed(); return nil }
			app.Get("/open", next)
			app.Get("/protected", oryfiber.Middleware(g), next)
			inproc.ServeFastHTTP(b, fw, app.Handler(), path)
		case "echov5":
			e := echo.New()
			next := func(c *echo.Context) error { _, _ = oryecho.Session(c); inproc.MarkServed(); return nil }
			e.GET("/open", next)
			e.GET("/protected", next, oryecho.Middleware(g))
			inproc.ServeHTTP(b, fw, e, path)
		default:
			b.Fatalf("unknown framework %q", fw)
		}
	}
}
