package reliability_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/faultproxy"
	"github.com/oryguard/oryguard/internal/e2e/reliability/rig"
)

// victim is a session that the revocation test uses and then revokes.
type victim struct {
	id     string
	cred   rig.Cred
	api    bool
	revoke func(context.Context) error

	mu         sync.Mutex
	revoking   time.Time // when the revocation call began (zero: not yet)
	revoked    time.Time // when it returned
	lastOK     time.Time // send time of the last request let in after revoked
	firstDenyd time.Time // send time of the first request denied after revoked
}

func (v *victim) state() (revoking, revoked time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.revoking, v.revoked
}

// TestRevocationUnderLoad revokes sessions in every way Kratos offers
// (admin revoke, browser logout, native logout, revoke all of an identity's
// sessions) while workers keep using them through an app with the cache on.
// Every request sent later than the cache TTL after a revocation returned
// must be denied; every request for a session not yet being revoked must
// pass.
func TestRevocationUnderLoad(t *testing.T) {
	srv := sharedKratos(t)
	ctx := t.Context()
	const ttl = 500 * time.Millisecond
	a := newApp(t, core.Config{OryURL: srv.PublicURL(), Cache: core.CacheConfig{TTL: ttl}})

	var victims []*victim
	for i := range 12 {
		switch i % 4 {
		case 0: // admin API: DELETE /admin/sessions/{id}
			bs, err := srv.RegisterBrowser(ctx, email("revoke-admin"), password)
			check(t, err)
			victims = append(victims, &victim{id: bs.SessionID, cred: cookie(bs),
				revoke: func(ctx context.Context) error { return srv.RevokeSession(ctx, bs.SessionID) }})
		case 1: // browser logout flow
			bs, err := srv.RegisterBrowser(ctx, email("revoke-logout"), password)
			check(t, err)
			victims = append(victims, &victim{id: bs.SessionID, cred: cookie(bs),
				revoke: func(ctx context.Context) error { return srv.LogoutBrowser(ctx, bs) }})
		case 2: // native logout with the token
			as, err := srv.RegisterAPI(ctx, email("revoke-native"), password)
			check(t, err)
			victims = append(victims, &victim{id: as.SessionID, cred: token(as), api: true,
				revoke: func(ctx context.Context) error { return srv.LogoutAPI(ctx, as.Token) }})
		case 3: // every session of the identity
			as, err := srv.RegisterAPI(ctx, email("revoke-identity"), password)
			check(t, err)
			victims = append(victims, &victim{id: as.SessionID, cred: token(as), api: true,
				revoke: func(ctx context.Context) error { return srv.DeleteIdentitySessions(ctx, as.IdentityID) }})
		}
	}

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		mu       sync.Mutex
		requests int
		problems []string
	)
	for w := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := victims[rng.IntN(len(victims))]
				r := a.Get(ctx, rig.PathRequired, v.cred, v.api)
				revoking, revoked := v.state()
				problem := ""
				switch {
				case r.Err != nil:
					problem = "error: " + r.Err.Error()
				case r.Status == 200:
					if r.SessionID != v.id {
						problem = "wrong session " + r.SessionID
					}
					if !revoked.IsZero() && r.Sent.After(revoked) {
						v.mu.Lock()
						if r.Sent.After(v.lastOK) {
							v.lastOK = r.Sent
						}
						v.mu.Unlock()
						if r.Sent.Sub(revoked) > ttl {
							problem = "revoked session let in " + r.Sent.Sub(revoked).String() + " after the revocation returned (TTL " + ttl.String() + ")"
						}
					}
				case r.Status == 303 && !v.api, r.Status == 401 && v.api:
					if revoking.IsZero() || r.Done.Before(revoking) {
						problem = "live session denied"
					}
					if !revoked.IsZero() && r.Sent.After(revoked) {
						v.mu.Lock()
						if v.firstDenyd.IsZero() || r.Sent.Before(v.firstDenyd) {
							v.firstDenyd = r.Sent
						}
						v.mu.Unlock()
					}
				default:
					problem = "unexpected answer"
				}
				mu.Lock()
				requests++
				if problem != "" && len(problems) < 20 {
					problems = append(problems, problem+": "+r.Describe())
				}
				mu.Unlock()
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	for _, v := range victims {
		v.mu.Lock()
		v.revoking = time.Now()
		v.mu.Unlock()
		err := v.revoke(ctx)
		v.mu.Lock()
		v.revoked = time.Now()
		v.mu.Unlock()
		check(t, err)
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(ttl + 300*time.Millisecond)
	close(stop)
	wg.Wait()

	for _, p := range problems {
		t.Error(p)
	}
	var worstServed, worstDeny time.Duration
	for _, v := range victims {
		if !v.lastOK.IsZero() {
			worstServed = max(worstServed, v.lastOK.Sub(v.revoked))
		}
		if v.firstDenyd.IsZero() {
			t.Errorf("session %s was never seen denied after its revocation", v.id)
			continue
		}
		worstDeny = max(worstDeny, v.firstDenyd.Sub(v.revoked))
	}
	t.Logf("%d requests, %d revocations; latest request let in after a revocation returned: +%s; first denial at most +%s (TTL %s)",
		requests, len(victims), worstServed.Round(time.Millisecond), worstDeny.Round(time.Millisecond), ttl)
}

// TestRevocationDuringSlowLookup: a whoami answer that Kratos gave just
// before the session was revoked, but that reached the guard late, must not
// keep the session alive for longer than the TTL after the revocation.
//
// Timeline: the lookup is sent at t0 and Kratos answers 200 at once; the
// answer is held by the proxy for 500ms (Lag). The session is revoked at
// about t0+50ms. The answer reaches the guard at t0+500ms and is cached. A
// request sent after both t0+500ms and revoked+TTL (300ms) must be denied.
// The guard computes the entry's freshness from when the answer arrived
// (t0+500ms+TTL) rather than from when the lookup was sent (t0+TTL), so it
// lets the revoked session in until t0+800ms.
func TestRevocationDuringSlowLookup(t *testing.T) {
	srv := sharedKratos(t)
	ctx := t.Context()
	as, err := srv.RegisterAPI(ctx, email("slow-revoke"), password)
	check(t, err)
	p, err := faultproxy.New(srv.PublicURL())
	check(t, err)
	defer p.Close()
	const ttl = 300 * time.Millisecond
	a := newApp(t, core.Config{OryURL: p.URL(), Timeout: 3 * time.Second, Cache: core.CacheConfig{TTL: ttl}})

	check(t, p.Set(faultproxy.Lag(500*time.Millisecond)))
	answers := p.UpstreamAnswers()
	first := make(chan rig.Result, 1)
	go func() { first <- a.Get(ctx, rig.PathRequired, token(as), true) }()
	if !waitFor(5*time.Second, func() bool { return p.UpstreamAnswers() > answers }) {
		t.Fatal("Kratos never answered the first lookup")
	}
	check(t, p.Set(faultproxy.Pass())) // later lookups are not held back
	check(t, srv.RevokeSession(ctx, as.SessionID))
	revoked := time.Now()
	r1 := <-first
	if r1.Status != 200 {
		t.Fatalf("the lookup answered before the revocation: %s", r1.Describe())
	}
	// Sent after the held answer arrived (so it cannot join that lookup) and
	// more than the TTL after the revocation returned.
	time.Sleep(max(time.Until(revoked.Add(ttl+50*time.Millisecond)), 20*time.Millisecond))
	r2 := a.Get(ctx, rig.PathRequired, token(as), true)
	if r2.Status != 401 {
		t.Errorf("request sent %s after the revocation returned (TTL %s): %s, want 401; "+
			"the cache entry's freshness must count from when the lookup was sent, not from when its answer arrived",
			r2.Sent.Sub(revoked).Round(time.Millisecond), ttl, r2.Describe())
	}
}
