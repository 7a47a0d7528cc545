package core

import "testing"

// TestEveryReasonHasACode: each sentinel in the reasons table has a reason
// code and an RPC status code, so that a reason added there never reaches
// an RPC client as Internal.
func TestEveryReasonHasACode(t *testing.T) {
	for k, row := range reasons {
		if row.err == nil {
			continue
		}
		code := (&Denial{Reason: row.err}).ReasonCode()
		if code == "" {
			t.Errorf("reason %d (%v) has no ReasonCode", k, row.err)
			continue
		}
		if _, ok := rpcCodes[code]; !ok {
			t.Errorf("reason code %s has no RPC status code", code)
		}
	}
}
