package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/qilin-ai/qilin/eval"
)

// comparePage is what the comparison template draws.
type comparePage struct {
	A, B, NameA, NameB string
	Tasks              []compareTask
}

type compareTask struct {
	Name, Anchor string
	Rows         []compareRow
	Chart        *chart
}

type compareRow struct {
	ModelA, ModelB, Metric, A, B, Delta string
	Significant, Paired                 bool
	Change                              string // "up" or "down" for a significant difference
	SpeedA, SpeedB                      string
	PerCorrectA, PerCorrectB            string
}

// WriteCompare writes c as DIR/report.html, creating DIR. DIR must not
// be one of the compared runs, whose own report it would replace.
func WriteCompare(dir string, c *Comparison) error {
	for _, run := range []string{c.A, c.B} {
		if same(dir, run) {
			return fmt.Errorf("eval compare: --out %s is one of the compared runs; give another directory", dir)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("eval compare: %w", err)
	}
	return writeFile(filepath.Join(dir, ReportFile), func(w io.Writer) error {
		return templates.ExecuteTemplate(w, "compare.html", buildCompare(c))
	})
}

// same reports whether two paths name the same directory.
func same(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}

func buildCompare(c *Comparison) *comparePage {
	p := &comparePage{A: c.A, B: c.B, NameA: c.NameA, NameB: c.NameB}
	for _, t := range c.Tasks {
		ct := compareTask{Name: t.Task, Anchor: "task-" + anchor(t.Task)}
		var bars []bar
		drawn := map[string]bool{}
		add := func(b bar) {
			if !drawn[b.Label] { // a teacher paired with each student is drawn once
				drawn[b.Label] = true
				bars = append(bars, b)
			}
		}
		for i := range t.Rows {
			r := &t.Rows[i]
			ct.Rows = append(ct.Rows, compareRow{
				ModelA: dash(r.ModelA), ModelB: dash(r.ModelB), Metric: r.Metric,
				A: r.valueText(r.A, r.ValueA, r.CIA), B: r.valueText(r.B, r.ValueB, r.CIB), Delta: r.deltaText(),
				Significant: r.Significant(), Paired: r.Paired, Change: change(r),
				SpeedA: speed(r.A), SpeedB: speed(r.B), PerCorrectA: perCorrect(r.A), PerCorrectB: perCorrect(r.B),
			})
			if r.Metric == "perplexity" {
				continue
			}
			suffix := ""
			if r.Metric != "accuracy" {
				suffix = " " + r.Metric
			}
			if r.A != nil {
				add(bar{Label: "A " + r.ModelA + suffix, Value: r.ValueA, Lo: r.CIA[0], Hi: r.CIA[1], Series: 0, ValueText: percent(r.ValueA, 1)})
			}
			if r.B != nil {
				add(bar{Label: "B " + r.ModelB + suffix, Value: r.ValueB, Lo: r.CIB[0], Hi: r.CIB[1], Series: 1, ValueText: percent(r.ValueB, 1)})
			}
		}
		if len(bars) > 0 {
			ct.Chart = barChart(t.Task+": A and B", "accuracy", bars, 1, func(v float64) string { return percent(v, 0) })
		}
		p.Tasks = append(p.Tasks, ct)
	}
	return p
}

// perCorrect writes the completion tokens a side spent per correct answer.
func perCorrect(s *eval.Score) string {
	if s == nil || s.Correct == 0 || s.Tokens.Completion == 0 {
		return "—"
	}
	return count(int(math.Round(float64(s.Tokens.Completion) / float64(s.Correct))))
}

// change names a significant difference's direction for its colour.
func change(p *Pair) string {
	switch {
	case !p.Significant():
		return ""
	case p.Delta > 0:
		return "up"
	}
	return "down"
}
