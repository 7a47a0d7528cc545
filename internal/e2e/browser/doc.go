// Package browser drives the Gin example app (examples/gin) in headless
// Chromium against a real Ory Kratos: sign up, dashboard, re-authentication,
// logout. Its only content is the test; see demo_test.go.
//
// It needs the Kratos binary (`make kratos`) and Chromium at
// /usr/bin/chromium (Debian package chromium), or $ORYGUARD_CHROMIUM.
package browser
