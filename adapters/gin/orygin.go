package orygin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// SessionKey is the gin.Context key under which Middleware stores the
// verified *client.Session. It is namespaced by import path so that no
// application key collides with it; prefer Session to reading it directly.
const SessionKey = "github.com/oryguard/oryguard/adapters/gin.session"

// Middleware protects the routes it is installed on with the guard under
// the given route policy (no options: a session is required). An allowed
// request continues with c.Next() and the session in both the Gin context
// and c.Request's context; every other request is answered here and the
// chain is aborted.
func Middleware(guard *core.Guard, opts ...core.Option) gin.HandlerFunc {
	route := guard.Route(opts...)
	return func(c *gin.Context) {
		req := core.RequestFromHTTP(c.Request)
		d := route.Authenticate(c.Request.Context(), &req)
		if !d.Allow {
			write(c, d)
			return
		}
		addHeader(c.Writer.Header(), d.Header)
		c.Set(SessionKey, d.Session)
		c.Request = c.Request.WithContext(core.ContextWithSession(c.Request.Context(), d.Session))
		c.Next()
	}
}

// Session returns the session Middleware verified for this request. It
// reports false when the middleware did not run, or ran on an optional
// route without a session. Treat the session as read-only.
func Session(c *gin.Context) (*client.Session, bool) {
	v, _ := c.Get(SessionKey)
	s, ok := v.(*client.Session)
	return s, ok && s != nil
}

// RefreshHandler sends the browser to Ory to re-authenticate
// (refresh=true), then back to the return_to query parameter (same app
// only) or the app's root.
func RefreshHandler(guard *core.Guard) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := core.RequestFromHTTP(c.Request)
		write(c, guard.RefreshRedirect(&req))
	}
}

// LogoutHandler ends the browser's Ory session: it asks Ory for a logout
// URL for the session cookie and redirects there. Without a session it
// redirects to the return_to query parameter (same app only) or the root;
// when Ory fails it answers 502.
// A request from another site (Sec-Fetch-Site, Origin: see
// core.Guard.LogoutRedirect) gets 403 and is not logged out; mount it for
// POST and log out with a form button. A native client's token is logged
// out through Ory's API (204). The credential leaves the guard's cache.
func LogoutHandler(guard *core.Guard) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := core.RequestFromHTTP(c.Request)
		write(c, guard.LogoutRedirect(c.Request.Context(), &req))
	}
}

// write carries out a denial: headers, status and body, then aborts the
// chain (writing a response alone does not stop later Gin handlers).
func write(c *gin.Context, d core.Decision) {
	addHeader(c.Writer.Header(), d.Header)
	c.AbortWithStatus(d.Status)
	_, _ = c.Writer.Write(d.Body)
}

func addHeader(dst, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}
