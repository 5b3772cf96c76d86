package eval

import (
	"cmp"
	"math"
	"slices"
	"strconv"
)

// This file turns the samples into results.json: pass@1 with its 95%
// confidence interval, pass@k, cons@K, log-likelihood accuracy and
// perplexity.

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// Wilson returns the Wilson score interval at 95% for c successes in n
// trials (the interval of pass@1 with one sample per item: unlike the
// normal approximation it keeps a width at 0 and 1).
func Wilson(c, n int) [2]float64 {
	if n == 0 {
		return [2]float64{0, 1}
	}
	p, nf := float64(c)/float64(n), float64(n)
	d := 1 + z95*z95/nf
	center := (p + z95*z95/(2*nf)) / d
	half := z95 * math.Sqrt(p*(1-p)/nf+z95*z95/(4*nf*nf)) / d
	return [2]float64{max(0, center-half), min(1, center+half)}
}

// MeanCI returns the mean of xs and its 95% confidence interval by the
// normal approximation (the standard error of the mean of the per-item
// fractions), clamped to [0, 1]; [0, 1] with fewer than two values.
func MeanCI(xs []float64) (float64, [2]float64) {
	if len(xs) == 0 {
		return 0, [2]float64{0, 1}
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, [2]float64{0, 1}
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	se := math.Sqrt(ss/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
	return mean, [2]float64{max(0, mean-z95*se), min(1, mean+z95*se)}
}

// PassAtK is the unbiased estimator of pass@k from n samples of which c
// are correct (Chen et al., 2021): 1 - C(n-c, k) / C(n, k), computed as a
// product so that it does not overflow.
func PassAtK(n, c, k int) float64 {
	if n-c < k {
		return 1
	}
	p := 1.0
	for i := n - c + 1; i <= n; i++ {
		p *= 1 - float64(k)/float64(i)
	}
	return 1 - p
}

// majority returns whether the most frequent extracted answer among ss
// (equal answers counted together by the scorer's Canon; ties go to the
// answer given first) is correct.
func majority(ss []*Sample, s Scorer) bool {
	count := map[string]int{}
	first := map[string]*Sample{}
	var best string
	for _, x := range ss {
		if x.Extracted == "" {
			continue
		}
		k := s.Canon(x.Extracted)
		count[k]++
		if first[k] == nil {
			first[k] = x
		}
		if best == "" || count[k] > count[best] || (count[k] == count[best] && first[k].Sample < first[best].Sample) {
			best = k
		}
	}
	return best != "" && first[best].Correct
}

// genScore scores the generated samples of one task, model and budget;
// byItem holds each wanted item's samples (possibly none).
func genScore(cfg *Options, items []Item, byItem [][]*Sample) *Score {
	sc := &Score{Samples: cfg.Samples, PassAt: map[string]float64{}}
	var fracs []float64
	passK := map[int][]float64{}
	cons := 0
	for i, ss := range byItem {
		sc.Errors += cfg.Samples - len(ss)
		if len(ss) == 0 {
			continue
		}
		c := 0
		for _, s := range ss {
			if s.Correct {
				c++
			}
			if s.Verdict == "unclosed reasoning" {
				sc.Unfinished++
			}
			sc.Tokens.Prompt += s.Tokens.Prompt
			sc.Tokens.Completion += s.Tokens.Completion
			sc.Tokens.Reasoning += s.Tokens.Reasoning
			sc.Seconds += s.Seconds
		}
		sc.Correct += c
		sc.N++
		fracs = append(fracs, float64(c)/float64(len(ss)))
		for _, k := range cfg.PassAt {
			if len(ss) >= k {
				passK[k] = append(passK[k], PassAtK(len(ss), c, k))
			}
		}
		if majority(ss, items[i].Scorer) {
			cons++
		}
	}
	if sc.N == 0 {
		return nil
	}
	sc.Accuracy, sc.CI95 = MeanCI(fracs)
	if cfg.Samples == 1 || sc.CI95[0] == sc.CI95[1] {
		// One sample per item, or items all alike (no spread to measure):
		// the Wilson interval of the items as a proportion.
		sc.CI95 = Wilson(int(math.Round(sc.Accuracy*float64(sc.N))), sc.N)
	}
	sc.PassAt["1"] = sc.Accuracy
	for k, xs := range passK {
		m, _ := MeanCI(xs)
		sc.PassAt[strconv.Itoa(k)] = m
	}
	if cfg.Samples > 1 {
		sc.ConsAt = map[string]float64{strconv.Itoa(cfg.Samples): float64(cons) / float64(sc.N)}
	}
	if sc.Seconds > 0 {
		sc.TokPerS = float64(sc.Tokens.Completion) / sc.Seconds
	}
	return sc
}

// summarize computes the results of cfg's tasks and models from the
// samples, and returns the samples in canonical order: tasks, models and
// items in cfg's order, then budgets and sample indices; samples of
// earlier runs that cfg does not ask for follow, sorted.
func summarize(cfg *Options, all map[key]*Sample) (*Results, []*Sample) {
	res := &Results{Tasks: map[string]map[string]*Score{}, Models: map[string]ModelInfo{}, Config: settings(cfg)}
	var order []*Sample
	placed := map[key]bool{}
	take := func(k key) *Sample {
		s := all[k]
		if s != nil && !placed[k] {
			placed[k] = true
			order = append(order, s)
		}
		return s
	}
	budgets := []*int{nil}
	if len(cfg.ThinkBudgets) > 0 {
		budgets = budgets[:0]
		sorted := slices.Sorted(slices.Values(cfg.ThinkBudgets))
		for _, b := range slices.Compact(sorted) {
			budgets = append(budgets, &b)
		}
	}
	for _, t := range cfg.Tasks {
		for _, m := range cfg.Models {
			res.Models[m.Name] = m.Info
			var sc *Score
			if t.Kind == Perplexity {
				sc = perplexityScore(t, m, cfg.Limit, take)
			} else {
				sc = itemsScore(cfg, t, m, budgets, take)
			}
			if sc == nil {
				continue
			}
			if res.Tasks[t.Name] == nil {
				res.Tasks[t.Name] = map[string]*Score{}
			}
			res.Tasks[t.Name][m.Name] = sc
		}
	}
	var rest []*Sample
	for k, s := range all {
		if !placed[k] {
			rest = append(rest, s)
		}
	}
	slices.SortFunc(rest, func(a, b *Sample) int {
		return cmp.Or(cmp.Compare(a.Task, b.Task), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Mode, b.Mode),
			cmp.Compare(a.ID, b.ID), cmp.Compare(budgetKey(a.ThinkBudget), budgetKey(b.ThinkBudget)), cmp.Compare(a.Sample, b.Sample))
	})
	return res, append(order, rest...)
}

// itemsScore scores a task of items for one model at every budget.
func itemsScore(cfg *Options, t *Task, m *Model, budgets []*int, take func(key) *Sample) *Score {
	items := t.Items[:limit(len(t.Items), cfg.Limit)]
	var top *Score
	perBudget := map[string]*Score{}
	for _, b := range budgets {
		byItem := make([][]*Sample, len(items))
		for i, it := range items {
			for s := range cfg.Samples {
				if x := take(key{t.Name, m.Name, it.ID, s, budgetKey(b), "generate"}); x != nil {
					byItem[i] = append(byItem[i], x)
				}
			}
		}
		sc := genScore(cfg, items, byItem)
		if sc == nil {
			continue
		}
		sc.ThinkBudget = b
		if b != nil {
			perBudget[strconv.Itoa(*b)] = sc
		}
		top = sc // budgets ascend: the last is the largest
	}
	var ll []*Sample
	for _, it := range items {
		if x := take(key{t.Name, m.Name, it.ID, 0, -1, "loglik"}); x != nil {
			ll = append(ll, x)
		}
	}
	if top == nil && len(ll) == 0 {
		return nil
	}
	if top == nil {
		top = &Score{PassAt: map[string]float64{}}
	}
	if len(perBudget) > 1 {
		c := *top
		c.ThinkBudgets = perBudget
		top = &c
	}
	if len(ll) > 0 {
		top.LogLik = logLikScore(ll)
	}
	return top
}

func logLikScore(ll []*Sample) *LogLikScore {
	acc, norm := 0, 0
	sc := &LogLikScore{N: len(ll)}
	for _, s := range ll {
		if s.Correct {
			acc++
		}
		if s.CorrectNorm {
			norm++
		}
		sc.Seconds += s.Seconds
	}
	n := float64(len(ll))
	sc.Acc, sc.AccCI95 = float64(acc)/n, Wilson(acc, len(ll))
	sc.AccNorm, sc.AccNormCI95 = float64(norm)/n, Wilson(norm, len(ll))
	return sc
}

// perplexityScore sums a model's perplexity chunks.
func perplexityScore(t *Task, m *Model, lim int, take func(key) *Sample) *Score {
	sc := &Score{PassAt: map[string]float64{}, Samples: 1}
	nll := 0.0
	for c := 0; lim <= 0 || c < lim; c++ {
		s := take(key{t.Name, m.Name, chunkID(c), 0, -1, "perplexity"})
		if s == nil {
			break
		}
		sc.N++
		nll += s.NLL
		sc.Tokens.Prompt += s.Tokens.Prompt
		sc.Seconds += s.Seconds
	}
	if sc.N == 0 || sc.Tokens.Prompt == 0 {
		return nil
	}
	sc.Perplexity = math.Exp(nll / float64(sc.Tokens.Prompt))
	sc.TokPerS = float64(sc.Tokens.Prompt) / max(sc.Seconds, 1e-9)
	return sc
}

// settings records cfg in results.json.
func settings(cfg *Options) *Config {
	c := &Config{Limit: cfg.Limit, Samples: cfg.Samples, PassAt: cfg.PassAt, ThinkBudgets: cfg.ThinkBudgets,
		Temperature: cfg.Temperature, TopP: cfg.TopP, MaxTokens: cfg.MaxTokens, Seed: cfg.Seed}
	for _, t := range cfg.Tasks {
		c.Tasks = append(c.Tasks, t.Name)
	}
	for _, m := range cfg.Models {
		c.Models = append(c.Models, m.Name)
	}
	return c
}
