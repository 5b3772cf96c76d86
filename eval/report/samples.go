package report

import (
	"math"

	"github.com/qilin-ai/qilin/eval"
)

// A run's samples.jsonl can hold a hundred thousand answers with their
// reasoning, so the report keeps only what it draws: per task and model,
// the counts, the first samples of each verdict for the drill-down, and
// each item's tally for paired comparisons.

// sampleSet is what the report keeps of samples.jsonl.
type sampleSet struct {
	n      int                          // samples read
	groups map[string]map[string]*group // by task, then model
}

// group is one task's and model's samples.
type group struct {
	total, correct int
	// byMode counts the samples, {correct, all}, of each mode
	// ("generate", "loglik", "perplexity").
	byMode map[string]*[2]int
	// wrong and right are the first maxShown samples of each verdict, in
	// file order.
	wrong, right []eval.Sample
	// tally counts each item's generated answers, {correct, all}, by
	// thinking budget (unbounded as math.MaxInt), then item ID.
	tally map[int]map[string]*[2]int
	// loglik holds each log-likelihood item's verdicts by ID: {acc,
	// acc_norm}.
	loglik map[string][2]bool
}

func newSampleSet() *sampleSet { return &sampleSet{groups: map[string]map[string]*group{}} }

// add keeps what the report needs of s.
func (ss *sampleSet) add(s eval.Sample) {
	ss.n++
	byModel := ss.groups[s.Task]
	if byModel == nil {
		byModel = map[string]*group{}
		ss.groups[s.Task] = byModel
	}
	g := byModel[s.Model]
	if g == nil {
		g = &group{byMode: map[string]*[2]int{}, tally: map[int]map[string]*[2]int{}, loglik: map[string][2]bool{}}
		byModel[s.Model] = g
	}
	g.total++
	mode := s.Mode
	if mode == "" {
		mode = "generate"
	}
	c := g.byMode[mode]
	if c == nil {
		c = new([2]int)
		g.byMode[mode] = c
	}
	c[1]++
	if s.Correct {
		c[0]++
	}
	if s.Correct {
		g.correct++
		if len(g.right) < maxShown {
			g.right = append(g.right, s)
		}
	} else if len(g.wrong) < maxShown {
		g.wrong = append(g.wrong, s)
	}
	if mode == "loglik" {
		g.loglik[s.ID] = [2]bool{s.Correct, s.CorrectNorm}
	}
	if mode != "generate" {
		return
	}
	budget := math.MaxInt
	if s.ThinkBudget != nil {
		budget = *s.ThinkBudget
	}
	items := g.tally[budget]
	if items == nil {
		items = map[string]*[2]int{}
		g.tally[budget] = items
	}
	t := items[s.ID]
	if t == nil {
		t = new([2]int)
		items[s.ID] = t
	}
	t[1]++
	if s.Correct {
		t[0]++
	}
}

// models returns the task's groups by model (nil when it has none).
func (ss *sampleSet) models(task string) map[string]*group {
	if ss == nil {
		return nil
	}
	return ss.groups[task]
}

// fractions maps each item's ID to its fraction correct by a metric
// (see metrics): for "accuracy", of its generated samples at the largest
// thinking budget (the one results.json reports at the top level); for
// "acc" and "acc_norm", its log-likelihood verdict. It is nil for
// perplexity.
func (g *group) fractions(metric string) map[string]float64 {
	if g == nil {
		return nil
	}
	switch metric {
	case "accuracy":
		return g.itemFractions()
	case "acc", "acc_norm":
		out := make(map[string]float64, len(g.loglik))
		for id, v := range g.loglik {
			if metric == "acc" && v[0] || metric == "acc_norm" && v[1] {
				out[id] = 1
			} else {
				out[id] = 0
			}
		}
		return out
	}
	return nil
}

// itemFractions maps each item's ID to the fraction of its generated
// samples that are correct, at the largest thinking budget.
func (g *group) itemFractions() map[string]float64 {
	if len(g.tally) == 0 {
		return nil
	}
	top := math.MinInt
	for b := range g.tally {
		top = max(top, b)
	}
	out := make(map[string]float64, len(g.tally[top]))
	for id, t := range g.tally[top] {
		out[id] = float64(t[0]) / float64(t[1])
	}
	return out
}
