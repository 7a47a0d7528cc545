package oryecho

import (
	"github.com/labstack/echo/v4"
	"github.com/oryguard/oryguard/core"
)

// params is the route's path parameters for core.PathParam, percent-decoded
// once. Echo matches URL.RawPath when the request has one (the request's
// escaping differs from Go's default: a%2Fb, %40, lowercase hex, ...) and
// URL.Path, already decoded by net/http, otherwise, and hands c.Param the
// matched text as it is. So a value is decoded here exactly when it was
// matched on the raw path. On the usual request (no RawPath) the Echo
// context itself is the core.Params, which costs no allocation.
func params(c echo.Context) core.Params {
	if c.Request().URL.RawPath == "" {
		return c
	}
	return rawParams{c}
}

// rawParams decodes the values Echo matched on URL.RawPath.
type rawParams struct{ c echo.Context }

// Param implements core.Params.
func (p rawParams) Param(name string) string { return core.UnescapePathParam(p.c.Param(name)) }
