package bench

import "testing"

func TestTelemetry(t *testing.T) {
	rows := Telemetry(t.Context(), tiny(t))
	wantNoErrors(t, rows)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
}
