package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/eval"
)

// page is what the report template draws.
type page struct {
	Title   string
	Dir     string
	Summary string
	Notes   []string
	Config  []string // the run's settings, one "name value" a line
	Models  []modelView
	Tasks   []*taskView
}

// modelView is a model named in the run, with where it ran.
type modelView struct {
	Name, Where string
	Series      int
	// Cells are the model's headline score on each task, in the page's
	// order of tasks ("—" where it has none).
	Cells []string
}

// taskView is one task's section.
type taskView struct {
	Name, Anchor string
	// The optional columns, present when some model has them.
	PassK, ConsK         []string
	LogLik, Perplexity   bool
	Generative, Problems bool
	Rows                 []rowView
	Charts               []*figure
	Drill                []drillGroup
}

// rowView is one model's row of a task's table, every cell written out.
type rowView struct {
	Model                          string
	Series                         int
	Best                           bool
	Accuracy, CI, N, Samples       string
	PassAt, ConsAt                 []string
	Acc, AccNorm, Perplexity       string
	Prompt, Completion, Reasoning  string
	Seconds, TokPerS               string
	TokPerCorrect, SecondsPerRight string
	Problems                       string // unclosed reasoning and errors
}

// figure is a chart with its heading and what it shows.
type figure struct {
	Title, Caption string
	Chart          *chart
	Wide           bool
	Table          *figTable // the chart's numbers, when it has a table
}

// figTable is a small table of a figure's numbers, every cell written out.
type figTable struct {
	Label string
	Head  []string
	Rows  [][]string
}

// build turns a loaded run into the page.
func build(r *run) *page {
	p := &page{Title: "Evaluation report", Dir: r.dir}
	models := modelOrder(r.results)
	series := make(map[string]int, len(models))
	for i, m := range models {
		series[m] = i
		where := ""
		if info, ok := r.results.Models[m]; ok {
			where = info.Kind
			if info.Endpoint != "" {
				where += " · " + info.Endpoint
			}
			if info.Model != "" && info.Model != m {
				where += " · " + info.Model
			}
		}
		p.Models = append(p.Models, modelView{Name: m, Where: where, Series: i % 8})
	}
	tasks := slices.Sorted(maps.Keys(r.results.Tasks))
	if c := r.results.Config; c != nil {
		tasks = orderLike(c.Tasks, tasks)
		p.Config = configLines(c)
	}
	for _, name := range tasks {
		p.Tasks = append(p.Tasks, buildTask(name, r.results.Tasks[name], models, series, r.samples.models(name)))
		for i, m := range models {
			p.Models[i].Cells = append(p.Models[i].Cells, headline(r.results.Tasks[name][m]))
		}
	}
	p.Summary = fmt.Sprintf("%s, %s, %s", plural(len(tasks), "task"), plural(len(models), "model"), plural(r.samples.n, "sample"))
	if !r.haveSamples {
		p.Notes = append(p.Notes, "This directory has no "+SamplesFile+": the table and charts come from "+ResultsFile+" alone, and there is no drill-down.")
	}
	if r.torn {
		p.Notes = append(p.Notes, "The last line of "+SamplesFile+" was cut short (a run stopped while writing it) and is left out; rerunning the eval completes it.")
	}
	return p
}

// headline is the one number that sums a score up: the accuracy of
// generated answers, else the log-likelihood acc, else the perplexity.
func headline(s *eval.Score) string {
	switch {
	case s == nil:
		return "—"
	case generative(s):
		return percent(s.Accuracy, 1)
	case s.LogLik != nil:
		return percent(s.LogLik.Acc, 1) + " acc"
	case s.Perplexity > 0:
		return "ppl " + strconv.FormatFloat(s.Perplexity, 'f', 2, 64)
	}
	return "—"
}

// modelOrder lists the models as the run named them, then any others by name.
func modelOrder(res *eval.Results) []string {
	seen := map[string]bool{}
	for _, models := range res.Tasks {
		for m := range models {
			seen[m] = true
		}
	}
	all := slices.Sorted(maps.Keys(seen))
	if res.Config != nil {
		return orderLike(res.Config.Models, all)
	}
	return all
}

// orderLike returns names in the order of want, then the rest as they are.
func orderLike(want, names []string) []string {
	rank := map[string]int{}
	for i, w := range want {
		if _, ok := rank[w]; !ok {
			rank[w] = i
		}
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	return out
}

func configLines(c *eval.Config) []string {
	out := []string{fmt.Sprintf("samples per item %d", c.Samples)}
	if c.Limit > 0 {
		out = append(out, fmt.Sprintf("limit %d items", c.Limit))
	}
	if len(c.PassAt) > 0 {
		out = append(out, "pass@k for k = "+joinInts(c.PassAt))
	}
	if len(c.ThinkBudgets) > 0 {
		out = append(out, "thinking budgets "+joinInts(c.ThinkBudgets))
	}
	out = append(out, fmt.Sprintf("temperature %g, top-p %g", c.Temperature, c.TopP))
	if c.MaxTokens > 0 {
		out = append(out, fmt.Sprintf("max tokens %d", c.MaxTokens))
	}
	return append(out, fmt.Sprintf("seed %d", c.Seed))
}

func buildTask(name string, scores map[string]*eval.Score, models []string, series map[string]int, samples map[string]*group) *taskView {
	t := &taskView{Name: name, Anchor: "task-" + anchor(name)}
	var present []string
	passK, consK := map[string]bool{}, map[string]bool{}
	for _, m := range models {
		s, ok := scores[m]
		if !ok {
			continue
		}
		present = append(present, m)
		for k := range s.PassAt {
			if k != "1" {
				passK[k] = true
			}
		}
		for k := range s.ConsAt {
			consK[k] = true
		}
		t.LogLik = t.LogLik || s.LogLik != nil
		t.Perplexity = t.Perplexity || s.Perplexity > 0
		t.Generative = t.Generative || generative(s)
		t.Problems = t.Problems || s.Unfinished > 0 || s.Errors > 0
	}
	t.PassK, t.ConsK = sortedNumeric(passK), sortedNumeric(consK)
	// The best accuracy is marked where it stands out: over another
	// model's, not in a tie of all.
	best, worst := math.Inf(-1), math.Inf(1)
	for _, m := range present {
		if s := scores[m]; generative(s) {
			best, worst = max(best, s.Accuracy), min(worst, s.Accuracy)
		}
	}
	if !(best > worst) {
		best = math.NaN() // nothing to single out
	}
	for _, m := range present {
		t.Rows = append(t.Rows, buildRow(t, m, series[m], scores[m], best))
	}
	t.Charts = taskCharts(t, present, series, scores)
	t.Drill = drillDown(present, series, samples)
	return t
}

// generative reports whether s scores generated answers (as opposed to a
// perplexity or a log-likelihood-only score).
func generative(s *eval.Score) bool {
	return s.Perplexity == 0 && (s.N > 0 && (s.Samples > 0 || len(s.PassAt) > 0) || s.LogLik == nil)
}

func buildRow(t *taskView, model string, series int, s *eval.Score, best float64) rowView {
	r := rowView{Model: model, Series: series % 8, N: count(s.N), Samples: strconv.Itoa(max(s.Samples, 1))}
	r.Accuracy, r.CI = "—", "—"
	if generative(s) {
		r.Best = s.Accuracy == best
		r.Accuracy = percent(s.Accuracy, 1)
		r.CI = interval(s.CI95)
	}
	for _, k := range t.PassK {
		r.PassAt = append(r.PassAt, optPercent(s.PassAt, k))
	}
	for _, k := range t.ConsK {
		r.ConsAt = append(r.ConsAt, optPercent(s.ConsAt, k))
	}
	if ll := s.LogLik; ll != nil {
		r.Acc = percent(ll.Acc, 1) + " " + interval(ll.AccCI95)
		r.AccNorm = percent(ll.AccNorm, 1) + " " + interval(ll.AccNormCI95)
	}
	if s.Perplexity > 0 {
		r.Perplexity = strconv.FormatFloat(s.Perplexity, 'f', 3, 64)
	}
	r.Prompt, r.Completion, r.Reasoning = count(s.Tokens.Prompt), count(s.Tokens.Completion), count(s.Tokens.Reasoning)
	r.Seconds = strconv.FormatFloat(s.Seconds, 'f', 1, 64)
	r.TokPerS = strconv.FormatFloat(s.TokPerS, 'f', 1, 64)
	r.TokPerCorrect, r.SecondsPerRight = "—", "—"
	if s.Correct > 0 {
		r.TokPerCorrect = count(int(math.Round(float64(s.Tokens.Completion) / float64(s.Correct))))
		r.SecondsPerRight = strconv.FormatFloat(s.Seconds/float64(s.Correct), 'f', 2, 64)
	}
	var probs []string
	if s.Unfinished > 0 {
		probs = append(probs, count(s.Unfinished)+" unclosed")
	}
	if s.Errors > 0 {
		probs = append(probs, plural(s.Errors, "error"))
	}
	r.Problems = strings.Join(probs, ", ")
	return r
}

func optPercent(m map[string]float64, k string) string {
	if v, ok := m[k]; ok {
		return percent(v, 1)
	}
	return "—"
}

func interval(ci [2]float64) string {
	return "[" + strconv.FormatFloat(100*ci[0], 'f', 1, 64) + ", " + strconv.FormatFloat(100*ci[1], 'f', 1, 64) + "]"
}

// count writes n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return count(n) + " " + what + "s"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// sortedNumeric sorts decimal keys by value.
func sortedNumeric(set map[string]bool) []string {
	keys := slices.Collect(maps.Keys(set))
	slices.SortFunc(keys, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return cmp.Or(cmp.Compare(x, y), strings.Compare(a, b))
	})
	return keys
}

// anchor turns a task's name into an id attribute's value.
func anchor(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
