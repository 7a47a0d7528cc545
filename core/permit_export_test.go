package core

// PermissionWaiters counts the callers waiting for another's call to Keto.
func PermissionWaiters(g *Guard) int {
	g.perm.mu.Lock()
	defer g.perm.mu.Unlock()
	n := 0
	for _, f := range g.perm.flights {
		n += f.waiters
	}
	return n
}
