package conformance

import "testing"

// TestRPCTableCoversHTTPTable: every row of the HTTP table is mirrored by
// an RPC row or listed as not applicable to RPC, and every name mirrored
// or listed is a row of the HTTP table; RPC rows have unique names.
func TestRPCTableCoversHTTPTable(t *testing.T) {
	http := map[string]bool{}
	for _, c := range table() {
		http[c.Name] = true
	}
	covered := map[string]bool{}
	names := map[string]bool{}
	for _, c := range rpcTable() {
		if names[c.Name] {
			t.Errorf("two RPC rows are named %q", c.Name)
		}
		names[c.Name] = true
		for _, m := range c.Mirrors {
			if !http[m] {
				t.Errorf("RPC row %q mirrors %q, which is not a row of the HTTP table", c.Name, m)
			}
			covered[m] = true
		}
	}
	for name, why := range rpcNotApplicable {
		if !http[name] {
			t.Errorf("not applicable %q is not a row of the HTTP table", name)
		}
		if covered[name] {
			t.Errorf("%q is both mirrored and not applicable (%s)", name, why)
		}
		covered[name] = true
	}
	for name := range http {
		if !covered[name] {
			t.Errorf("HTTP row %q has no RPC row and is not listed as not applicable", name)
		}
	}
}
