package core

// forget ends, at once, everything this guard holds for one credential:
// its cached session, and any whoami lookup in flight for it. A lookup in
// flight was asked before the credential ended; its answer still reaches
// the requests that were already waiting for it, but it is never cached and
// no later request joins it, so the old session cannot come back.
//
// Logout through the guard calls it (LogoutRedirect, for the session cookie
// and for a native client's token). It is the one place where a credential
// leaves the guard: a shared cache tier or a fleet-wide invalidation hooks
// in here.
func (g *Guard) forget(c *credential) {
	g.forgetKey(g.key(c))
	g.forgetShared(c) // with a shared tier: the tier and every instance (shared.go)
}

// forgetKey is forget for one key. The key stays buried for one TTL (see
// bury): a lookup that starts before Kratos has ended the session (a
// browser has yet to follow the logout URL) is not cached either.
func (g *Guard) forgetKey(key sessionKey) {
	g.flightsMu.Lock()
	defer g.flightsMu.Unlock()
	if f, ok := g.flights[key]; ok {
		f.discarded = true
		delete(g.flights, key)
	}
	if g.cache != nil {
		g.bury(key)
	}
}

// store caches the session a lookup found, unless forget discarded the
// lookup or buried the key meanwhile, and reports whether it did. It holds flightsMu, as forget does, so that an entry
// is never written after the forget that should have removed it.
func (g *Guard) store(f *flight, key sessionKey, e *entry) bool {
	g.flightsMu.Lock()
	defer g.flightsMu.Unlock()
	if f.discarded || e.fresh <= g.now().UnixNano() || g.buried(key) {
		return false
	}
	g.cache.Set(key, e)
	return true
}
