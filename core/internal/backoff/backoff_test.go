package backoff

import (
	"testing"
	"time"
)

// TestEndsOnlyForQuestionsSentDuringIt: an answer to a question sent
// before the 429 arrived says nothing about Ory after it.
func TestEndsOnlyForQuestionsSentDuringIt(t *testing.T) {
	b := Backoff{Interval: time.Second / 2}
	t0 := time.Now().UnixNano()
	b.Limited(30, t0)
	b.Answered(t0-1, t0+1)
	if w := b.Wait(t0 + 2); w == 0 {
		t.Fatal("an answer to a question sent before the 429 ended the backoff")
	}
	if !b.Active(t0 + 4) {
		t.Fatal("the backoff ended without an answer")
	}
	b.Answered(t0+5, t0+6)
	if w := b.Wait(t0 + 7); w != 0 {
		t.Fatalf("wait %d after Ory answered a probe, want 0", w)
	}
}

// TestProbes: while backing off, one lookup per Interval may ask Ory; the
// others wait the rest of the Retry-After, rounded up to seconds.
func TestProbes(t *testing.T) {
	b := Backoff{Interval: time.Second / 2}
	t0 := time.Now().UnixNano()
	b.Limited(30, t0)
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{
		{0, 30},
		{time.Second / 4, 30},
		{time.Second / 2, 0}, // the probe
		{time.Second / 2, 30},
		{time.Second, 0},                     // the next probe
		{29*time.Second + time.Second/10, 0}, // a probe: none since +1s
		{29*time.Second + time.Second/10, 1},
		{30 * time.Second, 0}, // over
	} {
		if got := b.Wait(t0 + int64(tc.at)); got != tc.want {
			t.Errorf("Wait at +%v = %d, want %d", tc.at, got, tc.want)
		}
	}
}
