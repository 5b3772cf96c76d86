package report

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/qilin-ai/qilin/eval"
)

// WriteText writes the comparison as one table per task for a terminal:
// each pair's values in run A and run B, the difference (B - A) with its
// 95% interval, marked * when the interval excludes zero, and the speed
// of each side.
func (c *Comparison) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "A: %s\nB: %s\n", c.A, c.B)
	for _, t := range c.Tasks {
		fmt.Fprintf(w, "\n%s\n", t.Task)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "model A\tmodel B\tmetric\tA\tB\tB - A\t\ttok/s A\ttok/s B")
		for _, p := range t.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(p.ModelA), dash(p.ModelB), p.Metric,
				p.valueText(p.A, p.ValueA, p.CIA), p.valueText(p.B, p.ValueB, p.CIB), p.deltaText(), p.mark(),
				speed(p.A), speed(p.B))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "\n* the 95% interval of B - A excludes zero (paired over the same items where both runs answered them).")
	return err
}

// speed writes a side's completion tokens per second.
func speed(s *eval.Score) string {
	if s == nil || s.TokPerS == 0 {
		return "—"
	}
	return strconv.FormatFloat(s.TokPerS, 'f', 1, 64)
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// valueText writes one side's value: a percentage with its interval, or
// a perplexity.
func (p *Pair) valueText(s *eval.Score, v float64, ci [2]float64) string {
	if s == nil {
		return "—"
	}
	if p.Metric == "perplexity" {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return percent(v, 1) + " " + interval(ci)
}

// deltaText writes B - A: percentage points with their interval, or the
// change in perplexity.
func (p *Pair) deltaText() string {
	if !p.Both() {
		return "—"
	}
	if p.Metric == "perplexity" {
		return signed(p.Delta, 3, "")
	}
	return signed(100*p.Delta, 1, " pt") + " [" + signed(100*p.DeltaCI[0], 1, "") + ", " + signed(100*p.DeltaCI[1], 1, "") + "]"
}

func (p *Pair) mark() string {
	if p.Significant() {
		return "*"
	}
	return ""
}

func signed(v float64, d int, unit string) string {
	s := strconv.FormatFloat(v, 'f', d, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s + unit
}
