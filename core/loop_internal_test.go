package core

import (
	"testing"
	"time"
)

// TestLoopMarkerAge: only a marker signed within LoginLoopWindow counts; a
// stale one (or one from the future) costs nothing.
func TestLoopMarkerAge(t *testing.T) {
	l := &loopGuard{name: loopCookieName, key: make([]byte, 32)}
	now := time.Unix(2_000_000_000, 0)
	tests := []struct {
		age  time.Duration
		want bool
	}{
		{0, true},
		{30 * time.Second, true},
		{LoginLoopWindow, true},
		{LoginLoopWindow + time.Second, false},
		{time.Hour, false},
		{-time.Hour, false},
	}
	for _, tc := range tests {
		r := &Request{Cookies: []string{l.name + "=" + l.sign(now.Add(-tc.age).Unix())}}
		if got := l.marked(r, now); got != tc.want {
			t.Errorf("marker %v old: marked %v, want %v", tc.age, got, tc.want)
		}
	}
}
