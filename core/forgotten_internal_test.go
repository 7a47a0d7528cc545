package core

import (
	"testing"
	"time"

	client "github.com/ory/client-go"
)

func sid(i int) sessionKey { return sessionKey{byte(i), byte(i >> 8), byte(i >> 16), 1} }

// TestForgottenTombstones: a tombstone lives for its lifetime, and when
// the table is full of live ones nothing is admitted (the safe side) until
// a tombstone's lifetime has passed.
func TestForgottenTombstones(t *testing.T) {
	const life = int64(time.Minute)
	f := newForgotten(0, life)
	e := &entry{session: &client.Session{Id: "x"}, sid: sid(1)}
	if !f.admit(sessionKey{1}, e, 0) {
		t.Fatal("a live session was not admitted")
	}
	if keys, _ := f.kill(sid(1), 0); len(keys) != 1 || keys[0] != (sessionKey{1}) {
		t.Fatalf("kill returned %v, want the one key", keys)
	}
	for _, tc := range []struct {
		at   int64
		dead bool
	}{{0, true}, {life - 1, true}, {life, false}} {
		if got := f.isDead(sid(1), tc.at); got != tc.dead {
			t.Errorf("dead at %d = %v, want %v", tc.at, got, tc.dead)
		}
	}
	for i := 2; len(f.dead) < f.cap; i++ {
		f.kill(sid(i), 10)
	}
	if _, overflow := f.kill(sid(-1), 20); !overflow { // no room
		t.Error("a full table was not reported")
	}
	if _, overflow := f.kill(sid(-4), 21); overflow {
		t.Error("a table already full was reported again")
	}
	for _, tc := range []struct {
		at   int64
		dead bool
	}{{20, true}, {21 + life - 1, true}, {21 + life, false}} { // the last overflow counts
		if got := f.isDead(sid(-2), tc.at); got != tc.dead { // a session never forgotten
			t.Errorf("with the table full: dead at %d = %v, want %v", tc.at, got, tc.dead)
		}
	}
	f.kill(sid(-3), 10+life) // the old ones expired: room again
	if !f.isDead(sid(-3), 10+life) || f.isDead(sid(-2), 21+life) {
		t.Error("expired tombstones were not pruned")
	}
}

// TestSessionIndexFollowsTheCache: the session index holds what the cache
// holds (entries evicted, replaced or buried leave it), and a session
// takes at most maxKeysPerSession spellings.
func TestSessionIndexFollowsTheCache(t *testing.T) {
	newG := func(maxEntries int) *Guard {
		g := &Guard{now: time.Now, flights: map[sessionKey]*flight{}, sidSecret: []byte("secret")}
		if err := g.initCache(CacheConfig{TTL: time.Hour, MaxEntries: maxEntries}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := newG(50)
	exp := time.Now().Add(time.Hour)
	put := func(key sessionKey, id string) bool {
		s := &client.Session{Id: id, ExpiresAt: &exp}
		return g.store(&flight{}, key, &entry{session: s, fresh: exp.UnixNano(), evict: exp.UnixNano()})
	}
	for i := range 1000 {
		put(sessionKey{byte(i), byte(i >> 8), 2}, "s"+string(rune('a'+i%500)))
	}
	n := 0
	g.forgot.mu.Lock()
	for _, m := range g.forgot.keys {
		n += len(m)
	}
	g.forgot.mu.Unlock()
	if size := g.CacheEntries(); n > size+1 {
		t.Fatalf("the index holds %d keys for %d cached entries", n, size)
	}
	g = newG(1000) // none evicted
	admitted := 0
	for i := range 2 * maxKeysPerSession {
		if put(sessionKey{byte(i), 9}, "many") {
			admitted++
		}
	}
	if admitted != maxKeysPerSession {
		t.Fatalf("%d spellings of one session cached, want %d", admitted, maxKeysPerSession)
	}
}
