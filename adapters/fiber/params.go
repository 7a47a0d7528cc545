package oryfiber

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
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
	return unescape(v)
}

// unescape percent-decodes a path segment once (a "+" stays a "+"); a
// value that does not decode (a%zz, which fasthttp lets through) is "",
// which denies the request.
func unescape(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return ""
	}
	return u
}
