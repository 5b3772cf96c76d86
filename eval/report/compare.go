package report

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qilin-ai/qilin/eval"
)

// ErrNoSharedTask is returned by Compare when the two runs have no task
// in common.
var ErrNoSharedTask = errors.New("the runs share no task")

// Comparison puts two eval runs side by side: teacher against student,
// Q8_0 against Q4_K_M, one thinking budget against another.
type Comparison struct {
	// A and B are the runs' directories, NameA and NameB the short names
	// the tables use (the directories' base names, or the whole paths when
	// those are the same).
	A, B         string
	NameA, NameB string
	Tasks        []TaskComparison
}

// TaskComparison is one task both runs have.
type TaskComparison struct {
	Task string
	Rows []Pair
}

// Pair is one model of run A against one of run B on a task, by one
// metric. Models pair up by name; where one run has a single model left
// over on a task, it pairs with each model left in the other (a teacher's
// run against its students'). A model with no counterpart has a row with
// the other side empty.
type Pair struct {
	ModelA, ModelB string
	// Metric is "accuracy" (pass@1 of generated answers), "acc" or
	// "acc_norm" (log-likelihood multiple choice) or "perplexity".
	Metric string
	A, B   *eval.Score // nil on the side a model is missing
	// ValueA and ValueB are the metric's values, CIA and CIB their 95%
	// intervals (zero for perplexity).
	ValueA, ValueB float64
	CIA, CIB       [2]float64
	// Delta is ValueB - ValueA and DeltaCI its 95% interval, valid when
	// both sides are present. Paired says the interval comes from the
	// per-item differences over the items both runs answered (the runs'
	// samples.jsonl), which cancels the items' own difficulty; otherwise
	// it treats the two results as independent. The paired interval is
	// used only when both runs answered exactly the same items.
	Delta   float64
	DeltaCI [2]float64
	Paired  bool
	// PairedItems is the number of items the paired interval is over.
	PairedItems int
}

// Both reports whether the pair has a model on each side.
func (p *Pair) Both() bool { return p.A != nil && p.B != nil }

// Significant reports whether the difference lies outside the noise: its
// 95% interval excludes zero. Perplexity has no interval and is never
// called significant.
func (p *Pair) Significant() bool {
	return p.Both() && p.Metric != "perplexity" && (p.DeltaCI[0] > 0 || p.DeltaCI[1] < 0)
}

// Compare reads two eval directories and compares the tasks they share.
// It returns an error wrapping ErrNoSharedTask when there is none.
func Compare(dirA, dirB string) (*Comparison, error) {
	a, err := load(dirA)
	if err != nil {
		return nil, err
	}
	b, err := load(dirB)
	if err != nil {
		return nil, err
	}
	c := &Comparison{A: dirA, B: dirB, NameA: filepath.Base(filepath.Clean(dirA)), NameB: filepath.Base(filepath.Clean(dirB))}
	if c.NameA == c.NameB {
		c.NameA, c.NameB = dirA, dirB
	}
	for _, task := range slices.Sorted(maps.Keys(a.results.Tasks)) {
		sb, ok := b.results.Tasks[task]
		if !ok {
			continue
		}
		sa := a.results.Tasks[task]
		tc := TaskComparison{Task: task}
		for _, mp := range pairModels(modelOrder(a.results), modelOrder(b.results), sa, sb) {
			tc.Rows = append(tc.Rows, metricPairs(mp[0], mp[1], sa[mp[0]], sb[mp[1]], a.samples.models(task)[mp[0]], b.samples.models(task)[mp[1]])...)
		}
		c.Tasks = append(c.Tasks, tc)
	}
	if len(c.Tasks) == 0 {
		return nil, fmt.Errorf("eval compare: %s and %s: %w (%s has %s; %s has %s)", dirA, dirB, ErrNoSharedTask,
			dirA, taskList(a.results), dirB, taskList(b.results))
	}
	return c, nil
}

func taskList(r *eval.Results) string {
	if len(r.Tasks) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(r.Tasks)), ", ")
}

// pairModels pairs the models that scored a task in each run: the same
// name first; then, where one side has a single model left, that model
// with each of the other side's (a teacher against each student); the
// rest alone.
func pairModels(orderA, orderB []string, sa, sb map[string]*eval.Score) [][2]string {
	var pairs [][2]string
	var leftA, leftB []string
	for _, m := range orderA {
		if sa[m] == nil {
			continue
		}
		if sb[m] != nil {
			pairs = append(pairs, [2]string{m, m})
		} else {
			leftA = append(leftA, m)
		}
	}
	for _, m := range orderB {
		if sb[m] != nil && sa[m] == nil {
			leftB = append(leftB, m)
		}
	}
	switch {
	case len(leftA) == 1 && len(leftB) > 0:
		for _, m := range leftB {
			pairs = append(pairs, [2]string{leftA[0], m})
		}
	case len(leftB) == 1 && len(leftA) > 0:
		for _, m := range leftA {
			pairs = append(pairs, [2]string{m, leftB[0]})
		}
	default:
		for _, m := range leftA {
			pairs = append(pairs, [2]string{m, ""})
		}
		for _, m := range leftB {
			pairs = append(pairs, [2]string{"", m})
		}
	}
	return pairs
}

// metric is one number a score holds: its value, 95% interval, and the
// number of items it is over.
type metric struct {
	name string
	get  func(*eval.Score) (v float64, ci [2]float64, items int, ok bool)
}

var metrics = []metric{
	{"accuracy", func(s *eval.Score) (float64, [2]float64, int, bool) { return s.Accuracy, s.CI95, s.N, generative(s) }},
	{"acc", func(s *eval.Score) (float64, [2]float64, int, bool) {
		if s.LogLik == nil {
			return 0, [2]float64{}, 0, false
		}
		return s.LogLik.Acc, s.LogLik.AccCI95, s.LogLik.N, true
	}},
	{"acc_norm", func(s *eval.Score) (float64, [2]float64, int, bool) {
		if s.LogLik == nil {
			return 0, [2]float64{}, 0, false
		}
		return s.LogLik.AccNorm, s.LogLik.AccNormCI95, s.LogLik.N, true
	}},
	{"perplexity", func(s *eval.Score) (float64, [2]float64, int, bool) {
		return s.Perplexity, [2]float64{}, s.N, s.Perplexity > 0
	}},
}

// metricPairs returns one Pair per metric that either side has.
func metricPairs(ma, mb string, a, b *eval.Score, samplesA, samplesB *group) []Pair {
	var out []Pair
	for _, m := range metrics {
		p := Pair{ModelA: ma, ModelB: mb, Metric: m.name}
		var okA, okB bool
		var nA, nB int
		if a != nil {
			p.ValueA, p.CIA, nA, okA = m.get(a)
		}
		if b != nil {
			p.ValueB, p.CIB, nB, okB = m.get(b)
		}
		if !okA && !okB {
			continue
		}
		if okA {
			p.A = a
		}
		if okB {
			p.B = b
		}
		if okA && okB {
			p.Delta = p.ValueB - p.ValueA
			p.DeltaCI = independentCI(p.Delta, p.CIA, p.CIB)
			// The paired interval only where both runs answered the same
			// items, so that it is the interval of this very difference.
			d, ci, n := pairedDelta(samplesA.fractions(m.name), samplesB.fractions(m.name))
			if n > 1 && n == nA && n == nB {
				p.DeltaCI, p.Paired, p.PairedItems = ci, true, n
				p.DeltaCI[0] += p.Delta - d // d equals Delta but for rounding
				p.DeltaCI[1] += p.Delta - d
			}
			if m.name == "perplexity" {
				p.DeltaCI = [2]float64{p.Delta, p.Delta}
			}
		}
		out = append(out, p)
	}
	return out
}

// z95 is the normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// independentCI is the 95% interval of a difference of two independent
// estimates, each known by its own 95% interval (half-width / z95 is its
// standard error).
func independentCI(delta float64, a, b [2]float64) [2]float64 {
	se := math.Hypot((a[1]-a[0])/(2*z95), (b[1]-b[0])/(2*z95))
	return [2]float64{delta - z95*se, delta + z95*se}
}

// pairedDelta compares two runs item by item: over the items both
// answered (by ID), the mean of B's fraction correct minus A's, with the
// 95% interval of that mean. n is the number of items.
func pairedDelta(fa, fb map[string]float64) (delta float64, ci [2]float64, n int) {
	var diffs []float64
	for id, x := range fa {
		if y, ok := fb[id]; ok {
			diffs = append(diffs, y-x)
		}
	}
	n = len(diffs)
	if n < 2 {
		return 0, ci, n
	}
	var sum, sq float64
	for _, d := range diffs {
		sum += d
	}
	mean := sum / float64(n)
	for _, d := range diffs {
		sq += (d - mean) * (d - mean)
	}
	se := math.Sqrt(sq / float64(n-1) / float64(n))
	return mean, [2]float64{mean - z95*se, mean + z95*se}, n
}
