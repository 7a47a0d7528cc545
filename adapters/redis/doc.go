// Package oryredis is a Redis (or Valkey) shared session tier for oryguard:
// put a *Tier in core.CacheConfig.Shared and every instance of an app shares
// the answers it got from Ory's whoami, and forgets a session on every
// instance when it logs out through any of them (or when the app calls
// core.Guard.ForgetSession after revoking it through Ory's admin API).
//
// Lookup order is the guard's in-process cache, then Redis, then Ory. Redis
// holds no credential and no readable identity: keys are HMAC-SHA-256 of the
// credential under a key derived from the fleet secret, values are the
// session sealed with AES-256-GCM under another key derived from it (bound
// to its key). A value that does not open is a miss.
//
// Logouts reach every instance through Redis pub/sub. An instance that loses
// its channel clears its in-process entries when the channel is back, so
// nothing it missed outlives the outage. Redis being down or slow costs
// whoami calls, never a request: each call is bounded by Config.Timeout,
// after a failure the tier stops calling Redis and probes it every 500 ms,
// and it logs one line per change of state.
package oryredis
