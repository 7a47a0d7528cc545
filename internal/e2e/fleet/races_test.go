package fleet_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/adapters/redis/redistest"
	"github.com/oryguard/oryguard/internal/e2e/fleet"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// TestAdminRevocationRacingALookup is issue 21's point 3 end to end: B asks
// Kratos about a session, Kratos answers "active", and that answer is held
// on its way back while the session is revoked in Kratos and A's
// ForgetSession tells the fleet. The late answer may reach the request that
// asked, but no instance may cache or share it: every later request is
// Kratos' own 401.
func TestAdminRevocationRacingALookup(t *testing.T) {
	r := newRig(t, true, time.Hour) // a TTL no test waits out
	a, b, c := r.apps[0], r.apps[1], r.apps[2]
	s := login(t)

	held, release := r.proxy.HoldWhoami()
	defer release()
	answered := make(chan int, 1)
	go func() {
		st, err := b.Me(t.Context(), s.Token)
		if err != nil {
			t.Error(err)
		}
		answered <- st
	}()
	select {
	case <-held: // Kratos said "active"; B has not heard it yet
	case <-time.After(10 * time.Second):
		t.Fatal("B's whoami call never reached Kratos")
	}
	if err := ory.Get(t).RevokeSession(t.Context(), s.SessionID); err != nil {
		t.Fatal(err)
	}
	if st, err := a.Forget(t.Context(), s.SessionID); err != nil || st != http.StatusNoContent {
		t.Fatalf("forget through A: status %d, %v", st, err)
	}
	waitLog(t, b, fleet.InvalidationLogged) // B has applied it: the race is now B's store against its forgotten ID
	release()
	if st := <-answered; st != http.StatusOK {
		t.Logf("the request that asked before the revocation got %d (200 is allowed too)", st)
	}
	asked := r.proxy.Whoami()
	for _, in := range []*fleet.Instance{b, c, a} {
		if st := me(t, in, s.Token); st != http.StatusUnauthorized {
			t.Errorf("%s after the revocation: status %d, want 401 (the late answer was cached or shared)", in.URL, st)
		}
	}
	if got := r.proxy.Whoami() - asked; got != 3 {
		t.Errorf("%d whoami calls for three requests after the revocation, want 3: an instance answered without Kratos", got)
	}
}

// TestLateSetCannotBringASessionBack is issue 21's point 4 end to end: B's
// write of a session to Redis is held on its way (a stalling proxy between
// B and redis-server) while A logs the session out; when the write reaches
// Redis it must be dropped, so an instance that starts afterwards (C, which
// heard no invalidation) gets Kratos' 401 from the tier's miss, not the old
// session.
func TestLateSetCannotBringASessionBack(t *testing.T) {
	setup(t)
	rs := harness.StartRedisT(t)
	stall := redistest.NewStallProxy(t, rs.Addr)
	proxy, err := fleet.NewProxy(ory.Get(t).PublicURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	start := func(redisAddr string) *fleet.Instance {
		return startInstance(t, fleet.AppConfig{OryURL: proxy.URL, TTL: time.Hour, Redis: redisAddr, Secrets: []string{fleetSecret}})
	}
	a, b := start(rs.Addr), start(stall.Addr())
	s := login(t)

	// A write is two scripts: the session's index first, then the entry
	// itself, which names the credential key's deletion marker ("x:{...}").
	// Nothing else B sends names one. Hold the entry's SET on its way.
	held, release := stall.Arm("x:{", true)
	defer release()
	if st := me(t, b, s.Token); st != http.StatusOK {
		t.Fatalf("B before the logout: status %d", st)
	}
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("B never wrote the session to Redis")
	}
	if st, err := a.Logout(t.Context(), s.Token); err != nil || st != http.StatusNoContent {
		t.Fatalf("logout through A: status %d, %v", st, err)
	}
	waitLog(t, b, fleet.InvalidationLogged) // B has forgotten the session it cached
	release()                               // returns once the held write has been sent on to Redis, after the logout's deletion
	if st := me(t, b, s.Token); st != http.StatusUnauthorized {
		t.Errorf("B after the logout: status %d, want 401", st)
	}
	// C starts now: it heard no invalidation, so only Redis can tell it
	// the session ended.
	c := start(rs.Addr)
	asked := proxy.Whoami()
	if st := me(t, c, s.Token); st != http.StatusUnauthorized {
		t.Fatalf("C after the logout: status %d, want 401 (the late write brought the session back)", st)
	}
	if got := proxy.Whoami() - asked; got != 1 {
		t.Errorf("C made %d whoami calls, want 1 (it must find nothing in Redis and ask Kratos)", got)
	}
}

// waitLog waits until in has logged s.
func waitLog(t *testing.T, in *fleet.Instance, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(in.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q", in.URL, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
