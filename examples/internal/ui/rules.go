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

// CanView is the /docs/{id} route's permission check: Ory Permissions must
// answer that the session's identity is a viewer of documents:<id>, the
// id being the route's path parameter. `make demo` lets the members of
// groups:admins view documents:launch-plan (DemoDocument).
var CanView = core.Permit("documents", "viewer", core.PathParam("id"))

// DemoDocument is the document `make demo`'s Keto lets the admins view;
// the dashboard links to it.
const DemoDocument = "launch-plan"

// Document is what DocumentPage shows: the document's ID and who opened it.
type Document struct {
	ID      string
	Profile *Profile
}

// DocumentOf describes document id opened with session s.
func DocumentOf(id string, s *client.Session) Document {
	return Document{ID: id, Profile: ProfileOf(s)}
}
