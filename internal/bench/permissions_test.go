package bench

import (
	"testing"

	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

func TestPermissions(t *testing.T) {
	srv := kratos.StartKratosT(t, kratos.KratosOptions{LogLevel: "error"})
	k := kratos.StartKetoT(t, kratos.KetoOptions{LogLevel: "error"})
	rows := Permissions(t.Context(), tiny(t), srv, k)
	wantNoErrors(t, rows)
	if len(rows) != 2 {
		t.Errorf("%d rows, want cache off and cache on", len(rows))
	}
}
