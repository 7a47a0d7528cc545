// Package orygrpc protects gRPC services with an Ory session: the unary and
// stream server interceptors of the oryguard guard.
//
//	guard, err := core.New(core.Config{OryURL: os.Getenv("ORY_SDK_URL")})
//	...
//	guardrpc, err := orygrpc.New(guard, orygrpc.Config{
//		Public:  []string{"/grpc.health.v1.Health/Check"},
//		Methods: map[string][]core.Option{"/bank.v1.Bank/Transfer": {core.RequireAAL2()}},
//	})
//	...
//	srv := grpc.NewServer(guardrpc.ServerOptions()...)
//	bankv1.RegisterBankServer(srv, bank)
//	if err := guardrpc.Validate(srv); err != nil { // a name the server does not serve
//		log.Fatal(err)
//	}
//
// Handlers read the session with Session(ctx).
//
// # Policy
//
// Every method is protected: a method the Config does not name requires a
// session under Config.Options. Public methods run unchecked (Ory is not
// asked); Optional methods run with or without a session (SessionError
// tells an anonymous caller from Ory failing); Methods adds route options
// (core.RequireAAL2, core.MaxAuthAge, core.Check) to single methods. Names
// are full method names, "/package.Service/Method". New rejects a name that
// is not one; Validate rejects a name the server does not serve, so a typo
// never leaves a method under a weaker policy than the one written.
//
// # Credentials
//
// The interceptors read the x-session-token, authorization (Bearer) and
// cookie metadata (every cookie field: HTTP/2 clients and gRPC-Web proxies
// may split them) and nothing else, and hand them to core, which sends Ory
// its credential alone, exactly as on HTTP. Every answer is an API answer
// (core.ForceAPI): a gRPC client never gets a redirect. A Set-Cookie Ory
// sends back is set as response header metadata (set-cookie), for
// gRPC-Web proxies that pass it to the browser.
//
// # Status codes
//
// A denial becomes the status Status builds, carrying an
// errdetails.ErrorInfo (domain "oryguard", the denial's
// core.ReasonCode, and for a step-up or re-authentication the URL of Ory's
// flow under "redirect_browser_to"):
//
//	core.ErrNoSession              Unauthenticated       NO_SESSION
//	core.ErrAAL2Required           PermissionDenied      AAL2_REQUIRED
//	core.ErrRefreshRequired        PermissionDenied      REFRESH_REQUIRED
//	core.ErrForbidden              PermissionDenied      FORBIDDEN (Ory's 403, or a core.Check)
//	core.ErrPermissionDenied       PermissionDenied      PERMISSION_DENIED (a Permit check)
//	core.ErrRateLimited            ResourceExhausted     RATE_LIMITED, with errdetails.RetryInfo
//	core.ErrOryUnavailable         Unavailable           ORY_UNAVAILABLE
//	core.ErrPermissionsUnavailable Unavailable           PERMISSIONS_UNAVAILABLE (Keto failing)
//	core.ErrOryTimeout             DeadlineExceeded      ORY_TIMEOUT
//	core.ErrBusy                   Unavailable           BUSY, with errdetails.RetryInfo
//
// A call the client cancelled gets Canceled (or DeadlineExceeded) as gRPC
// reports it. Config.ErrorHandler chooses another status: it gets the
// *core.Denial and the method, and wraps DefaultErrorHandler for the rest.
//
// # Permissions
//
// Permit is core.Permit for a unary method whose object is in its request
// message (func(m *docsv1.GetRequest) string { return m.GetId() }): after
// the session check, Ory Permissions (Keto, configured in
// core.Config.Permissions) is asked whether the caller's identity has the
// relation on namespace:object. A stream is checked when it opens, before
// its first message, so a Permit that reads the message denies every
// stream; give a stream a core.Permit whose object does not come from the
// message, or check in the handler.
//
// # Streams
//
// A stream is checked once, when it opens; the session in its context is
// the one verified then. Without Config.StreamRecheck a stream outlives its
// session: it runs until either side ends it, however long after a logout.
// With StreamRecheck the guard is asked again at that interval (through its
// cache, so a revocation is seen once the cached entry expires, at once
// after Guard.ForgetSession, or at once with the cache off). When the
// guard denies (the session is gone, or no longer meets the method's
// policy), the stream's context is cancelled, every later Send and Recv
// fails, and the client gets the denial's status (Unauthenticated when the
// session is gone). When Ory fails during a re-check the stream goes on and
// the next tick asks again.
//
// A stream that opened without a session (an optional method) is not
// re-checked.
//
// Every decision is made by package core; this package only translates it.
package orygrpc
