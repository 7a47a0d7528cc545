package conformance_test

import (
	"testing"

	suite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/internal/conformance"
)

// TestConformance runs the whole table through every adapter, with the
// session cache off and on.
func TestConformance(t *testing.T) {
	suite.Run(t, conformance.Targets()...)
}
