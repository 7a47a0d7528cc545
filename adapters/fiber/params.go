package oryfiber

import (
	"github.com/gofiber/fiber/v2"
	"github.com/oryguard/oryguard/core"
)

// pathParams is the route's path parameters (c.Params) for core.PathParam,
// percent-decoded once. Fiber matches the request path as it arrived,
// undecoded, unless the app sets Config.UnescapePath, which decodes the
// path before routing; so a value is decoded here exactly when the app
// does not. It is the Fiber context itself, converted, so setting it
// allocates nothing.
type pathParams fiber.Ctx

// Param implements core.Params.
func (p *pathParams) Param(name string) string {
	c := (*fiber.Ctx)(p)
	v := c.Params(name)
	if c.App().Config().UnescapePath {
		return v
	}
	return core.UnescapePathParam(v)
}
