package report

import (
	"cmp"
	"maps"
	"slices"
	"strconv"

	"github.com/qilin-ai/qilin/eval"
)

// taskCharts draws a task's figures: accuracy per model with its
// interval (and the log-likelihood scores where there are some),
// perplexity for the perplexity task, accuracy against the thinking budget
// where several budgets were run, and the tokens and seconds each correct
// answer cost.
func taskCharts(t *taskView, models []string, colour map[string]int, scores map[string]*eval.Score) []*figure {
	var figs []*figure
	var acc, ppl, toks, secs []bar
	for _, m := range models {
		s := scores[m]
		if generative(s) {
			label := m
			if s.LogLik != nil {
				label += " (generated)"
			}
			acc = append(acc, bar{Label: label, Value: s.Accuracy, Lo: s.CI95[0], Hi: s.CI95[1], Series: colour[m],
				ValueText: percent(s.Accuracy, 1)})
			if s.Correct > 0 && s.Tokens.Completion > 0 {
				toks = append(toks, bar{Label: m, Value: float64(s.Tokens.Completion) / float64(s.Correct), Series: colour[m],
					ValueText: count(int(float64(s.Tokens.Completion)/float64(s.Correct) + 0.5))})
				secs = append(secs, bar{Label: m, Value: s.Seconds / float64(s.Correct), Series: colour[m],
					ValueText: strconv.FormatFloat(s.Seconds/float64(s.Correct), 'f', 2, 64) + " s"})
			}
		}
		if ll := s.LogLik; ll != nil {
			acc = append(acc,
				bar{Label: m + " (acc)", Value: ll.Acc, Lo: ll.AccCI95[0], Hi: ll.AccCI95[1], Series: colour[m], ValueText: percent(ll.Acc, 1)},
				bar{Label: m + " (acc_norm)", Value: ll.AccNorm, Lo: ll.AccNormCI95[0], Hi: ll.AccNormCI95[1], Series: colour[m], ValueText: percent(ll.AccNorm, 1)})
		}
		if s.Perplexity > 0 {
			ppl = append(ppl, bar{Label: m, Value: s.Perplexity, Series: colour[m], ValueText: strconv.FormatFloat(s.Perplexity, 'f', 2, 64)})
		}
	}
	if len(acc) > 0 {
		figs = append(figs, &figure{Title: "Accuracy per model", Wide: true,
			Caption: "pass@1 (the mean over samples), with its 95% confidence interval as the error bar.",
			Chart:   barChart(t.Name+": accuracy per model", "accuracy", acc, 1, func(v float64) string { return percent(v, 0) })})
	}
	if len(ppl) > 0 {
		figs = append(figs, &figure{Title: "Perplexity per model", Wide: true, Caption: "Lower is better.",
			Chart: barChart(t.Name+": perplexity per model", "perplexity", ppl, 0, func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) })})
	}
	if f := budgetFigure(t.Name, models, colour, scores); f != nil {
		figs = append(figs, f)
	}
	if len(toks) > 0 {
		figs = append(figs,
			&figure{Title: "Tokens per correct answer", Caption: "Completion tokens (reasoning included) over all samples, divided by the correct ones.",
				Chart: barChart(t.Name+": tokens per correct answer", "tokens", toks, 0, func(v float64) string { return count(int(v)) })},
			&figure{Title: "Seconds per correct answer", Caption: "Generation time over all samples, divided by the correct ones.",
				Chart: barChart(t.Name+": seconds per correct answer", "seconds", secs, 0, func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) })})
	}
	return figs
}

// budgetFigure draws accuracy against the thinking budget, or returns nil
// when no model was run at more than one budget.
func budgetFigure(task string, models []string, colour map[string]int, scores map[string]*eval.Score) *figure {
	keys := map[string]bool{}
	several := false
	for _, m := range models {
		several = several || len(scores[m].ThinkBudgets) > 1
		for k := range scores[m].ThinkBudgets {
			keys[k] = true
		}
	}
	if !several {
		return nil
	}
	cats := slices.Collect(maps.Keys(keys))
	slices.SortFunc(cats, compareBudgets)
	index := map[string]int{}
	names := make([]string, len(cats))
	for i, k := range cats {
		index[k] = i
		names[i] = budgetName(k)
	}
	var all []series
	tab := &figTable{Label: task + " accuracy by thinking budget", Head: append([]string{"model"}, names...)}
	for _, m := range models {
		bs := scores[m].ThinkBudgets
		if len(bs) == 0 {
			continue
		}
		sr := series{Name: m, Series: colour[m]}
		row := []string{m}
		for _, k := range cats {
			s, ok := bs[k]
			if !ok || s == nil {
				row = append(row, "—")
				continue
			}
			sr.Points = append(sr.Points, point{X: index[k], Y: s.Accuracy, Lo: s.CI95[0], Hi: s.CI95[1],
				Text: budgetName(k) + ": " + percent(s.Accuracy, 1) + " " + interval(s.CI95)})
			cell := percent(s.Accuracy, 1) + " " + interval(s.CI95)
			if answers := s.N * max(s.Samples, 1); answers > 0 && s.Tokens.Completion > 0 {
				cell += " · " + count(s.Tokens.Completion/answers) + " tok/answer"
			}
			row = append(row, cell)
		}
		all = append(all, sr)
		tab.Rows = append(tab.Rows, row)
	}
	return &figure{Title: "Accuracy vs thinking budget", Wide: true,
		Caption: "pass@1 at each reasoning budget (tokens), with 95% confidence intervals; the budgets are evenly spaced, not to scale.",
		Chart:   lineChart(task+": accuracy vs thinking budget", "thinking budget (tokens)", "accuracy", names, all),
		Table:   tab}
}

// compareBudgets orders budget keys by value, "unbounded" last.
func compareBudgets(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Compare(x, y)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

func budgetName(k string) string {
	if k == "unbounded" {
		return "no limit"
	}
	return k
}
