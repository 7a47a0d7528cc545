package suite

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
	client "github.com/ory/client-go"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/internal/conformance"
)

// Target is one framework adapter. The refresh and logout routes are the
// conformance suite's own mounts (conformance.Targets); the protected route
// is mounted here the same way, in front of a handler that reports what it
// read to an Observer (suite.Probe keeps what it saw to itself, so the
// session's email and the context's session could not be read back).
type Target struct {
	conf      csuite.Target
	protected func(guard *core.Guard, opts []core.Option, obs *Observer) csuite.Server
}

// Name names the adapter, as conformance does ("net/http", "gin", ...).
func (t Target) Name() string { return t.conf.Name() }

// Protected mounts the adapter's middleware, built with guard and opts, in
// front of a catch-all handler that reads the session through the
// adapter's own accessor and through core.SessionFromContext, reports both
// to obs and answers 200 with csuite.ProtectedContentType.
func (t Target) Protected(guard *core.Guard, opts []core.Option, obs *Observer) csuite.Server {
	return t.protected(guard, opts, obs)
}

// Refresh mounts the adapter's RefreshHandler (conformance's mount).
func (t Target) Refresh(guard *core.Guard) csuite.Server { return t.conf.Refresh(guard) }

// Logout mounts the adapter's LogoutHandler (conformance's mount).
func (t Target) Logout(guard *core.Guard) csuite.Server { return t.conf.Logout(guard) }

// Targets returns the four adapters in conformance.Targets' order. It
// panics when conformance gains an adapter this package does not mount, so
// that the end-to-end suite cannot silently leave one out.
func Targets() []Target {
	mounts := map[string]func(*core.Guard, []core.Option, *Observer) csuite.Server{
		"net/http": protectedNetHTTP,
		"gin":      protectedGin,
		"echo":     protectedEcho,
		"fiber":    protectedFiber,
	}
	conf := conformance.Targets()
	out := make([]Target, 0, len(conf))
	for _, c := range conf {
		p, ok := mounts[c.Name()]
		if !ok {
			panic(fmt.Sprintf("e2e suite: conformance target %q has no protected mount here; add one to targets.go", c.Name()))
		}
		out = append(out, Target{conf: c, protected: p})
	}
	if len(out) != len(mounts) {
		panic(fmt.Sprintf("e2e suite: conformance has %d targets, this package mounts %d", len(out), len(mounts)))
	}
	return out
}

// Observer records what the protected handler saw. It is safe for
// concurrent use.
type Observer struct {
	mu       sync.Mutex
	runs     int
	accessor csuite.Lookup
	context  csuite.Lookup
}

// Observation is what the protected handler saw since the last Take.
type Observation struct {
	// Runs counts the handler's runs.
	Runs int
	// Accessor is what the adapter's own accessor returned on the last
	// run; Context is what core.SessionFromContext returned.
	Accessor, Context csuite.Lookup
}

// observe records one run and returns the handler's body, worded as
// suite.Probe words it.
func (o *Observer) observe(accessor, context csuite.Lookup) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.runs++
	o.accessor, o.context = accessor, context
	if accessor.OK && accessor.Session != nil {
		return []byte("protected handler ran with session " + accessor.Session.Id + "\n")
	}
	return []byte("protected handler ran without a session\n")
}

// Take returns what the handler saw since the last Take and forgets it.
func (o *Observer) Take() Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	obs := Observation{Runs: o.runs, Accessor: o.accessor, Context: o.context}
	o.runs, o.accessor, o.context = 0, csuite.Lookup{}, csuite.Lookup{}
	return obs
}

func respondProtected(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", csuite.ProtectedContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func protectedNetHTTP(guard *core.Guard, opts []core.Option, obs *Observer) csuite.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respondProtected(w, obs.observe(csuite.Read(oryhttp.Session(r.Context())), csuite.Read(core.SessionFromContext(r.Context()))))
	})
	return csuite.Recorder(oryhttp.Middleware(guard, opts...)(h))
}

func protectedGin(guard *core.Guard, opts []core.Option, obs *Observer) csuite.Server {
	r := gin.New() // release mode: conformance's init sets it
	r.Use(orygin.Middleware(guard, opts...))
	r.Any("/*path", func(c *gin.Context) {
		body := obs.observe(csuite.Read(orygin.Session(c)), csuite.Read(core.SessionFromContext(c.Request.Context())))
		c.Data(http.StatusOK, csuite.ProtectedContentType, body)
	})
	return csuite.Recorder(r)
}

func protectedEcho(guard *core.Guard, opts []core.Option, obs *Observer) csuite.Server {
	e := echo.New()
	e.Use(oryecho.Middleware(guard, opts...))
	e.Any("/*", func(c echo.Context) error {
		body := obs.observe(csuite.Read(oryecho.Session(c)), csuite.Read(core.SessionFromContext(c.Request().Context())))
		return c.Blob(http.StatusOK, csuite.ProtectedContentType, body)
	})
	return csuite.Recorder(e)
}

func protectedFiber(guard *core.Guard, opts []core.Option, obs *Observer) csuite.Server {
	// As conformance's Fiber target: a 16 KiB read buffer, served with
	// app.Test (a real fasthttp server over an in-memory connection).
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
	app.Use(oryfiber.Middleware(guard, opts...))
	app.All("/*", func(c *fiber.Ctx) error {
		body := obs.observe(csuite.Read(oryfiber.Session(c)), csuite.Read(core.SessionFromContext(c.UserContext())))
		c.Set(fiber.HeaderContentType, csuite.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	})
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }
}

// AAL returns s's authenticator assurance level, or "".
func AAL(s *client.Session) string {
	if s == nil || s.AuthenticatorAssuranceLevel == nil {
		return ""
	}
	return string(*s.AuthenticatorAssuranceLevel)
}
