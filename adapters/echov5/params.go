package oryecho

import (
	"github.com/labstack/echo/v5"
	"github.com/oryguard/oryguard/core"
)

// pathParams is the route's path parameters for core.PathParam,
// percent-decoded once. Echo's default router matches URL.RawPath when the
// request has one (the request's escaping differs from Go's default:
// a%2Fb, %40, lowercase hex, ...) and URL.Path, already decoded by
// net/http, otherwise, and hands c.Param the matched text as it is. So a
// value is decoded here exactly when the request has a RawPath. It is the
// Echo context itself, converted, so setting it allocates nothing.
type pathParams echo.Context

// Param implements core.Params.
func (p *pathParams) Param(name string) string {
	c := (*echo.Context)(p)
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	return core.UnescapePathParam(v)
}
