package reliability_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/internal/e2e/reliability/soak"
)

// SoakEnv sets the soak's duration (for example 5m); without it the soak
// runs for soakShort so that `make test` exercises it.
const SoakEnv = "ORYGUARD_SOAK_DURATION"

const soakShort = 12 * time.Second

// TestSoak runs the soak against a real Kratos and fails on any unexpected
// answer (anything but a 200 for a live session and a denial for a revoked,
// expired or unknown one), any revoked session let in later than the cache
// TTL after its revocation, and any growth of goroutines or heap.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the soak in -short mode")
	}
	d := soakShort
	if v := os.Getenv(SoakEnv); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("%s=%q: %v", SoakEnv, v, err)
		}
	}
	cfg := soak.Config{Duration: d, Workers: 6}
	if d < 30*time.Second {
		cfg.SessionLifespan = 4 * time.Second // sessions expire during a short soak too
		cfg.Sessions = 16
	}
	r, err := soak.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.Print(&b)
	t.Logf("soak figures:\n%s", b.String())
	for _, p := range r.Problems() {
		t.Error(p)
	}
	if r.Expired == 0 || len(r.Revocations) == 0 {
		t.Errorf("no session expired (%d) or was revoked (%v) during the load", r.Expired, r.Revocations)
	}
}
