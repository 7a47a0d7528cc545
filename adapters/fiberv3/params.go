package oryfiber

import (
	"github.com/gofiber/fiber/v3"
	"github.com/oryguard/oryguard/core"
)

// params is the route's path parameters (c.Params) for core.PathParam,
// percent-decoded once. Fiber matches the request path as it arrived,
// undecoded, unless the app sets Config.UnescapePath, which decodes the
// path before routing; so a value is decoded here exactly when the app
// does not. For Fiber's own context it is that context, converted, which
// costs no allocation; an app's custom context (fiber.NewWithCustomCtx)
// costs one.
func params(c fiber.Ctx) core.Params {
	if d, ok := c.(*fiber.DefaultCtx); ok {
		return (*defaultParams)(d)
	}
	return ctxParams{c}
}

// defaultParams reads Fiber's own context.
type defaultParams fiber.DefaultCtx

// Param implements core.Params.
func (p *defaultParams) Param(name string) string {
	return param((*fiber.DefaultCtx)(p), name)
}

// ctxParams reads an app's custom context.
type ctxParams struct{ c fiber.Ctx }

// Param implements core.Params.
func (p ctxParams) Param(name string) string { return param(p.c, name) }

func param(c fiber.Ctx, name string) string {
	v := c.Params(name)
	if c.App().Config().UnescapePath {
		return v
	}
	return core.UnescapePathParam(v)
}
