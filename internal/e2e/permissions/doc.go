// Package permissions tests oryguard's permission checks (core.Permit) end
// to end: a real Ory Kratos for the sessions, a real Ory Keto (v0.13, built
// by `make keto`) for the checks, and the guard in front of real routes of
// the framework adapters. A counting proxy between the guard and Keto shows
// what the guard asked (namespace, object, relation, subject), holds calls
// at a barrier to show that a route's checks go out concurrently, and
// answers badly on demand. The batch path, which Keto v0.13 does not
// serve, runs against core/orytest's fake Keto.
//
// Only the tests live here; the package has no API.
package permissions
