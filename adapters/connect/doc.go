// Package oryconnect protects Connect services (connectrpc.com/connect)
// with an Ory session: a connect.Interceptor for unary and streaming
// handlers, over the Connect, gRPC and gRPC-Web protocols alike.
//
//	guard, err := core.New(core.Config{OryURL: os.Getenv("ORY_SDK_URL")})
//	...
//	guardrpc, err := oryconnect.New(guard, oryconnect.Config{
//		Public:     []string{grpchealth.HealthV1ServiceName + "/Check"},
//		Procedures: map[string][]core.Option{bankv1connect.BankTransferProcedure: {core.RequireAAL2()}},
//	})
//	...
//	if err := guardrpc.Validate(oryconnect.ServiceProcedures(bankv1.File_bank_v1_bank_proto.Services())...); err != nil {
//		log.Fatal(err) // a name the server does not serve
//	}
//	mux.Handle(bankv1connect.NewBankHandler(bank, connect.WithInterceptors(guardrpc)))
//
// Handlers read the session with Session(ctx).
//
// # Policy
//
// Every procedure is protected: one the Config does not name requires a
// session under Config.Options. Public procedures run unchecked (Ory is not
// asked); Optional ones run with or without a session (SessionError tells
// an anonymous caller from Ory failing); Procedures adds route options
// (core.RequireAAL2, core.MaxAuthAge, core.Check) to single procedures.
// Names are full procedure names, "/package.Service/Method". New rejects a
// name that is not one; Validate rejects a name the server does not serve,
// so a typo never leaves a procedure under a weaker policy than the one
// written.
//
// # Credentials
//
// The interceptor reads the X-Session-Token, Authorization (Bearer) and
// Cookie headers (every Cookie field: HTTP/2 clients may split them; a
// browser calling over Connect or gRPC-Web sends its session cookie) and
// nothing else, and hands them to core, which sends Ory its credential
// alone, exactly as on HTTP. Every answer is an API answer
// (core.ForceAPI): no redirects. A Set-Cookie Ory sends back (a refreshed
// session cookie) is added to the response headers, as the HTTP adapters
// do.
//
// # Error codes
//
// A denial becomes the *connect.Error that Error builds, wrapping core's
// sentinel and carrying an errdetails.ErrorInfo detail (domain "oryguard",
// the denial's core.ReasonCode, and for a step-up or re-authentication the URL of
// Ory's flow under "redirect_browser_to"):
//
//	core.ErrNoSession              CodeUnauthenticated   NO_SESSION
//	core.ErrAAL2Required           CodePermissionDenied  AAL2_REQUIRED
//	core.ErrRefreshRequired        CodePermissionDenied  REFRESH_REQUIRED
//	core.ErrForbidden              CodePermissionDenied  FORBIDDEN (Ory's 403, or a core.Check)
//	core.ErrPermissionDenied       CodePermissionDenied  PERMISSION_DENIED (a Permit check)
//	core.ErrRateLimited            CodeResourceExhausted RATE_LIMITED, with errdetails.RetryInfo
//	core.ErrOryUnavailable         CodeUnavailable       ORY_UNAVAILABLE
//	core.ErrPermissionsUnavailable CodeUnavailable       PERMISSIONS_UNAVAILABLE (Keto failing)
//	core.ErrOryTimeout             CodeDeadlineExceeded  ORY_TIMEOUT
//	core.ErrBusy                   CodeUnavailable       BUSY, with errdetails.RetryInfo
//
// Config.ErrorHandler chooses another error: it gets the *core.Denial and
// the procedure, and wraps DefaultErrorHandler for the rest.
//
// # Permissions
//
// Permit is core.Permit for a unary procedure whose object is in its request
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
// guard denies (the session is gone, or no longer meets the procedure's
// policy), the handler's context is cancelled, every later Send and
// Receive fails, and the client gets the denial's error
// (CodeUnauthenticated when the session is gone). When Ory fails during a
// re-check the stream goes on and the next tick asks again.
//
// A stream that opened without a session (an optional procedure) is not
// re-checked.
//
// Every decision is made by package core; this package only translates it.
package oryconnect
