package flows

import (
	client "github.com/ory/client-go"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/internal/e2e/mount"
)

// Target is one framework adapter, mounted as the conformance suite mounts
// it (mount.Targets): the short form and the config form in front of the
// probe handler, RefreshHandler and LogoutHandler.
type Target = csuite.Target

// Targets returns every adapter, in package mount's order.
func Targets() []Target { return mount.Targets() }

// AAL returns s's authenticator assurance level, or "".
func AAL(s *client.Session) string {
	if s == nil || s.AuthenticatorAssuranceLevel == nil {
		return ""
	}
	return string(*s.AuthenticatorAssuranceLevel)
}
