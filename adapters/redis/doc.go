// Package oryredis is a Redis (or Valkey) shared session tier for oryguard:
// put a *Tier in core.CacheConfig.Shared and every instance of an app shares
// the answers it got from Ory's whoami, and forgets a session on every
// instance when it logs out through any of them (or when the app calls
// core.Guard.ForgetSession after revoking it through Ory's admin API).
//
// Lookup order is the guard's in-process cache, then Redis, then Ory. Redis
// holds no credential and no readable identity. An entry's key is core's
// key of the credential: a keyed pseudorandom function of its exact bytes,
// SHA-256 over a secret block derived from the fleet secret (HKDF-SHA-256)
// followed by the length-prefixed credential (prefix-free inputs make
// secret-prefix SHA-256 a PRF; see core/key.go). A session is found by
// HMAC-SHA-256 of its ID under the same secret. Values are the session
// sealed with AES-256-GCM under another key derived from the fleet secret
// (bound to its key). A value that does not open is a miss.
//
// Keys ("oryguard:s:{K}" entry, "oryguard:x:{K}" its deletion marker,
// "oryguard:i:{S}" a session's index, "oryguard:y:{S}" its deletion marker)
// carry Redis Cluster hash tags so that every script touches one slot: the
// tier works on a single node, Sentinel and Redis Cluster alike.
//
// Delete and DeleteSessions leave deletion markers that live Config.MaxTTL
// (the longest an entry lives); Set checks them atomically, in Lua
// scripts, so an answer that reaches Redis after another instance's logout
// does not store the session again. A session's index is capped at
// Config.MaxSessionEntries live entries and expires with its longest one.
//
// Logouts reach every instance through Redis pub/sub. An instance that loses
// its channel clears its in-process entries when the channel is back, so
// nothing it missed outlives the outage. Redis being down or slow costs
// whoami calls, never a request: each call, reading the reply included, is
// bounded by Config.Timeout (set ContextTimeoutEnabled in the go-redis
// options so the client gives up the connection then too); a caller whose
// context ends (a client that hung up) is not a Redis failure, and its
// logout still reaches Redis and every instance. After a failure of Redis
// itself the tier stops calling Redis and probes it every 500 ms, and it
// logs one line per change of state.
package oryredis
