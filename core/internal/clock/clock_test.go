package clock

import (
	"testing"
	"time"
)

// TestClock: the clock tells the wall time (within the rounding of two
// clock reads) and reads the wall clock again once its base is old.
func TestClock(t *testing.T) {
	c := New()
	for _, tc := range []struct {
		name string
		base time.Time
	}{
		{"fresh base", time.Now()},
		{"base older than Resync", time.Now().Add(-time.Hour)},
		{"base in the future", time.Now().Add(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.base.Store(&tc.base)
			before := time.Now()
			got := c.Now()
			after := time.Now()
			const slack = time.Millisecond // the wall and monotonic reads of time.Now are two reads
			if got.Before(before.Add(-slack)) || got.After(after.Add(slack)) {
				t.Errorf("now = %v, want between %v and %v", got, before, after)
			}
			if tc.name != "fresh base" && c.base.Load() == &tc.base {
				t.Error("the base was not read again")
			}
		})
	}
}
