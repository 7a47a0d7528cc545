package ui

import (
	"context"
	"errors"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// ErrEmailNotVerified is the app's own error for /verified: the identity
// has no verified email address yet.
var ErrEmailNotVerified = errors.New("email address not verified")

// VerifiedEmail is the /verified route's rule: Kratos lists the identity's
// addresses in verifiable_addresses, verified=false until the user
// completes a verification flow (or an admin marks it verified).
var VerifiedEmail = core.Check(func(_ context.Context, s *client.Session) error {
	if s.Identity != nil {
		for _, a := range s.Identity.VerifiableAddresses {
			if a.Via == "email" && a.Verified {
				return nil
			}
		}
	}
	return ErrEmailNotVerified
})

// VerifyPage is the custom error page for a browser whose email is not
// verified (data: nil).
const VerifyPage = "verify.html"

// Unverified reports whether err is a denial of VerifiedEmail answered to
// a browser: the case the apps render VerifyPage for. Every other denial
// (and API clients, which get the guard's JSON) goes to the adapter's
// DefaultErrorHandler.
func Unverified(err error) bool {
	var d *core.Denial
	return errors.As(err, &d) && !d.API && errors.Is(err, ErrEmailNotVerified)
}
