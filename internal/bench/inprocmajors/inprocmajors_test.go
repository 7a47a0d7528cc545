package inprocmajors

import "testing"

// BenchmarkHit runs every case: go test -bench BenchmarkHit ./inprocmajors
func BenchmarkHit(b *testing.B) {
	for _, c := range Cases() {
		b.Run(c.Name, c.F)
	}
}
