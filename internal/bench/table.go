package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Verdict says whether a figure met its target.
type Verdict uint8

// Verdicts.
const (
	Info   Verdict = iota // no target: shown for context
	Met                   // the target was met
	Missed                // the target was missed
	Failed                // the measurement itself failed
)

func (v Verdict) String() string {
	switch v {
	case Met:
		return "yes"
	case Missed:
		return "NO"
	case Failed:
		return "ERROR"
	}
	return "-"
}

// Row is one line of the result table.
type Row struct {
	Section string // "1 core", "2 adapters", ...
	Figure  string
	Value   string
	Target  string
	Verdict Verdict
}

// check returns Met when ok, Missed otherwise.
func check(ok bool) Verdict {
	if ok {
		return Met
	}
	return Missed
}

// failed is the row for a measurement that could not be made.
func failed(section, figure string, err error) Row {
	return Row{Section: section, Figure: figure, Value: "error: " + oneLine(err.Error()), Verdict: Failed}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// WriteTable prints rows as one Markdown table.
func WriteTable(w io.Writer, rows []Row) error {
	head := []string{"#", "figure", "value", "target", "met?"}
	cells := [][]string{head}
	for _, r := range rows {
		cells = append(cells, []string{r.Section, r.Figure, r.Value, r.Target, r.Verdict.String()})
	}
	width := make([]int, len(head))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			fmt.Fprintf(&b, " %-*s |", width[i], escapeCell(c))
		}
		b.WriteString("\n")
	}
	line(cells[0])
	b.WriteString("|")
	for _, n := range width {
		b.WriteString(strings.Repeat("-", n+2) + "|")
	}
	b.WriteString("\n")
	for _, row := range cells[1:] {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// Count tallies the verdicts of rows.
func Count(rows []Row) map[Verdict]int {
	n := map[Verdict]int{}
	for _, r := range rows {
		n[r.Verdict]++
	}
	return n
}

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// pairRatio is the median of a[i]/b[i]: each round's A and B ran one right
// after the other, so their ratio is the side-by-side figure, and the
// median over rounds drops the rounds that other work on the machine
// disturbed.
func pairRatio(a, b []float64) float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return median(r)
}

// spread formats the smallest and largest of xs, to show the noise.
func spread(xs []float64, format func(float64) string) string {
	if len(xs) == 0 {
		return ""
	}
	return format(slices.Min(xs)) + ".." + format(slices.Max(xs))
}

func ns(x float64) string { return fmt.Sprintf("%.0f ns", x) }

func us(x float64) string { return fmt.Sprintf("%.1f µs", x/1e3) }

func rps(x float64) string {
	if x >= 1e4 {
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
