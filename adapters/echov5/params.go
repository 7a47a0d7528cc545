package oryecho

import (
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"
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
	return unescape(v)
}

// unescape percent-decodes a path segment once (a "+" stays a "+"); a
// value that does not decode is "", which denies the request.
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
