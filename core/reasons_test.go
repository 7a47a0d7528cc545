package core

import (
	"errors"
	"testing"
)

// TestReasonTable checks the table of reasons against itself: every reason
// but a session names a sentinel and a text, every denial Outcome and every
// WhoamiResult is some row's, and rows that share an Outcome share a
// sentinel (OutcomeOf finds the Outcome from the sentinel alone).
func TestReasonTable(t *testing.T) {
	outcomes := map[Outcome]error{}
	whoami := map[WhoamiResult]bool{}
	for why, row := range reasons {
		whoami[row.whoami] = true
		if reason(why) == reasonSession {
			if row.err != nil || row.outcome != OutcomeAllowed {
				t.Errorf("session row = %+v; want no error and OutcomeAllowed", row)
			}
			continue
		}
		if row.err == nil || row.text == "" || row.status < 400 {
			t.Errorf("reason %d: row %+v lacks a sentinel, a text or an error status", why, row)
		}
		// A row may name a narrower sentinel (ErrPermissionDenied) that
		// unwraps to its outcome's: OutcomeOf still finds the outcome.
		if prev, ok := outcomes[row.outcome]; ok && !errors.Is(row.err, prev) {
			t.Errorf("reason %d: outcome %v has sentinels %v and %v", why, row.outcome, prev, row.err)
		} else if !ok {
			outcomes[row.outcome] = row.err
		}
		if row.oryAnswered && row.oryFailing {
			t.Errorf("reason %d: Ory both answered and failed", why)
		}
		if row.oryFailing && row.flow != flowNone {
			t.Errorf("reason %d: an Ory failure sends users to a flow (a login loop)", why)
		}
	}
	for o := OutcomeNoSession; o < NumOutcomes; o++ {
		if outcomes[o] == nil || !errors.Is(outcomeErrs[o], outcomes[o]) {
			t.Errorf("outcome %v: sentinel %v in the table, %v in outcomeErrs", o, outcomes[o], outcomeErrs[o])
		}
	}
	for w := WhoamiResult(0); w < NumWhoamiResults; w++ {
		if !whoami[w] {
			t.Errorf("whoami result %v is no reason's", w)
		}
	}
}
