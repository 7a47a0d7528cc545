package bench

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method, or 0 for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// ms formats a duration given in ns as milliseconds, with the precision a
// latency needs: 0.42 ms, 3.1 ms, 63 ms.
func ms(x float64) string {
	d := time.Duration(x)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", x/1e6)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", x/1e6)
	}
	return fmt.Sprintf("%.0f ms", x/1e6)
}
