package report

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/eval"
)

// only writes a run of the given models (and tasks, when named) of a
// fixture run, and returns its directory.
func only(t *testing.T, res *eval.Results, samples []eval.Sample, tasks []string, models ...string) string {
	out := &eval.Results{Tasks: map[string]map[string]*eval.Score{}, Models: map[string]eval.ModelInfo{}}
	keep := func(task, model string) bool {
		return slices.Contains(models, model) && (tasks == nil || slices.Contains(tasks, task))
	}
	for task, scores := range res.Tasks {
		for m, s := range scores {
			if keep(task, m) {
				if out.Tasks[task] == nil {
					out.Tasks[task] = map[string]*eval.Score{}
				}
				out.Tasks[task][m] = s
				out.Models[m] = res.Models[m]
			}
		}
	}
	var ss []eval.Sample
	for _, s := range samples {
		if keep(s.Task, s.Model) {
			ss = append(ss, s)
		}
	}
	return writeRun(t, out, ss)
}

type pairKey struct{ A, B, Metric string }

func pairsOf(t TaskComparison) []pairKey {
	var out []pairKey
	for _, p := range t.Rows {
		out = append(out, pairKey{p.ModelA, p.ModelB, p.Metric})
	}
	return out
}

// TestCompareTeacherStudent: one model in each run pairs up across names;
// the accuracy difference is paired over the items both answered.
func TestCompareTeacherStudent(t *testing.T) {
	res, samples := fixtureRun(20, 4)
	teacher, student := fixtureModels[1], fixtureModels[0]
	dirA := only(t, res, samples, nil, teacher)
	dirB := only(t, res, samples, nil, student)
	c, err := Compare(dirA, dirB)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []string
	for _, tc := range c.Tasks {
		tasks = append(tasks, tc.Task)
	}
	// The teacher (remote) has no perplexity task: two shared tasks.
	if diff := cmp.Diff([]string{"gsm8k", "mmlu"}, tasks); diff != "" {
		t.Fatalf("shared tasks (-want +got):\n%s", diff)
	}
	want := []pairKey{{teacher, student, "accuracy"}}
	if diff := cmp.Diff(want, pairsOf(c.Tasks[0])); diff != "" {
		t.Errorf("gsm8k pairs (-want +got):\n%s", diff)
	}
	// mmlu: the teacher answered by a generated letter, the student by
	// log-likelihood: each metric has one side.
	want = []pairKey{{teacher, student, "accuracy"}, {teacher, student, "acc"}, {teacher, student, "acc_norm"}}
	if diff := cmp.Diff(want, pairsOf(c.Tasks[1])); diff != "" {
		t.Errorf("mmlu pairs (-want +got):\n%s", diff)
	}
	for _, p := range c.Tasks[1].Rows {
		if p.Both() {
			t.Errorf("mmlu %s: both sides present, want one", p.Metric)
		}
	}
	p := c.Tasks[0].Rows[0]
	a, b := res.Tasks["gsm8k"][teacher], res.Tasks["gsm8k"][student]
	const tol = 1e-12
	if d := p.Delta - (b.Accuracy - a.Accuracy); math.Abs(d) > tol {
		t.Errorf("delta %v, want %v (tolerance %g)", p.Delta, b.Accuracy-a.Accuracy, tol)
	}
	if !p.Paired || p.PairedItems != 20 {
		t.Errorf("paired %v over %d items, want paired over 20", p.Paired, p.PairedItems)
	}
	if !(p.DeltaCI[0] < p.Delta && p.Delta < p.DeltaCI[1]) {
		t.Errorf("delta %v outside its interval %v", p.Delta, p.DeltaCI)
	}
	// 98.8% against 70.0% over 20 items of 4 samples each: far outside the noise.
	if !p.Significant() {
		t.Errorf("a %.1f-point drop not significant (interval %v)", 100*p.Delta, p.DeltaCI)
	}
}

// TestCompareSameModels: models of the same name pair up; leftovers that
// are not one a side stay alone.
func TestCompareSameModels(t *testing.T) {
	res, samples := fixtureRun(10, 2)
	gsm := []string{"gsm8k"}
	dirA := only(t, res, samples, gsm, fixtureModels[0], fixtureModels[1], fixtureModels[2])
	dirB := only(t, res, samples, gsm, fixtureModels[0])
	c, err := Compare(dirA, dirB)
	if err != nil {
		t.Fatal(err)
	}
	// Without a config in results.json the models come by name.
	want := []pairKey{{fixtureModels[0], fixtureModels[0], "accuracy"}, {fixtureModels[2], "", "accuracy"}, {fixtureModels[1], "", "accuracy"}}
	if diff := cmp.Diff(want, pairsOf(c.Tasks[0])); diff != "" {
		t.Errorf("pairs (-want +got):\n%s", diff)
	}
	if p := c.Tasks[0].Rows[0]; p.Delta != 0 || p.Significant() {
		t.Errorf("a model against itself: delta %v, significant %v", p.Delta, p.Significant())
	}
}

// TestPairedDelta checks the paired interval against a hand computation:
// per-item differences 0, 1, 0, 0 have mean 0.25 and standard deviation
// 0.5, so a standard error of 0.25.
func TestPairedDelta(t *testing.T) {
	mk := func(correct ...bool) *group {
		ss := newSampleSet()
		for i, c := range correct {
			ss.add(eval.Sample{Task: "t", Model: "m", ID: string(rune('a' + i)), Correct: c, Mode: "generate"})
		}
		return ss.models("t")["m"]
	}
	d, ci, n := pairedDelta(mk(true, false, true, false).fractions("accuracy"), mk(true, true, true, false).fractions("accuracy"))
	const tol = 1e-12
	want := [2]float64{0.25 - z95*0.25, 0.25 + z95*0.25}
	if n != 4 || math.Abs(d-0.25) > tol || math.Abs(ci[0]-want[0]) > tol || math.Abs(ci[1]-want[1]) > tol {
		t.Errorf("got delta %v, interval %v over %d items; want 0.25, %v over 4 (tolerance %g)", d, ci, n, want, tol)
	}
	// Only the largest budget counts: the small budget's wrong answers do
	// not, nor do log-likelihood items.
	small, big := 16, 1024
	ss := newSampleSet()
	for _, id := range []string{"a", "b"} {
		ss.add(eval.Sample{Task: "t", Model: "m", ID: id, Correct: true, ThinkBudget: &big})
		ss.add(eval.Sample{Task: "t", Model: "m", ID: id, Correct: false, ThinkBudget: &small})
		ss.add(eval.Sample{Task: "t", Model: "m", ID: id, Correct: false, ThinkBudget: &big, Mode: "loglik"})
	}
	if f := ss.models("t")["m"].itemFractions(); len(f) != 2 || f["a"] != 1 || f["b"] != 1 {
		t.Errorf("item fractions %v, want 1 for both items at budget %d", f, big)
	}
}

// TestIndependentCI: two independent estimates with standard errors 3
// and 4 give a difference with standard error 5.
func TestIndependentCI(t *testing.T) {
	ci := independentCI(1, [2]float64{-3 * z95, 3 * z95}, [2]float64{10 - 4*z95, 10 + 4*z95})
	const tol = 1e-12
	if math.Abs(ci[0]-(1-5*z95)) > tol || math.Abs(ci[1]-(1+5*z95)) > tol {
		t.Errorf("interval %v, want 1 ± 5·%.4f (tolerance %g)", ci, z95, tol)
	}
}

// TestCompareNoSharedTask: a clear error that names each run's tasks.
func TestCompareNoSharedTask(t *testing.T) {
	res, samples := fixtureRun(4, 1)
	dirA := only(t, res, samples, []string{"gsm8k"}, fixtureModels[0])
	dirB := only(t, res, samples, []string{"mmlu", "perplexity"}, fixtureModels[0])
	_, err := Compare(dirA, dirB)
	if !errors.Is(err, ErrNoSharedTask) {
		t.Fatalf("got %v, want ErrNoSharedTask", err)
	}
	for _, want := range []string{dirA + " has gsm8k", dirB + " has mmlu, perplexity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := Compare(dirA, filepath.Join(dirA, "missing")); err == nil || !strings.Contains(err.Error(), ResultsFile) {
		t.Errorf("a directory without results.json: %v", err)
	}
}

// TestCompareOutputs: the text table and the page show every pair, mark
// the significant difference, and escape hostile names.
func TestCompareOutputs(t *testing.T) {
	res, samples := fixtureRun(20, 4)
	dirA := only(t, res, samples, nil, fixtureModels[1])
	dirB := only(t, res, samples, nil, hostileModel)
	c, err := Compare(dirA, dirB)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	p := c.Tasks[0].Rows[0]
	for _, want := range []string{"gsm8k", "mmlu", p.deltaText(), percent(p.ValueA, 1), percent(p.ValueB, 1)} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, p.deltaText()+"  *") {
		t.Errorf("the significant gsm8k difference is not marked:\n%s", text)
	}
	out := filepath.Join(t.TempDir(), "cmp")
	if err := WriteCompare(out, c); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Contains(html, "<b>model") || !strings.Contains(html, "evil&lt;b&gt;model") {
		t.Error("the hostile model name is not escaped")
	}
	for _, want := range []string{`aria-label="gsm8k comparison"`, `aria-label="mmlu comparison"`, `aria-label="gsm8k: A and B"`, "paired"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if err := WriteCompare(dirA, c); err == nil || !strings.Contains(err.Error(), "one of the compared runs") {
		t.Errorf("--out the first run: %v", err)
	}
}

// TestCompareTeacherStudents: a run of one model pairs with each model of
// the other run.
func TestCompareTeacherStudents(t *testing.T) {
	res, samples := fixtureRun(10, 2)
	gsm := []string{"gsm8k"}
	c, err := Compare(only(t, res, samples, gsm, fixtureModels[1]), only(t, res, samples, gsm, fixtureModels[0], fixtureModels[2]))
	if err != nil {
		t.Fatal(err)
	}
	want := []pairKey{{fixtureModels[1], fixtureModels[2], "accuracy"}, {fixtureModels[1], fixtureModels[0], "accuracy"}}
	if diff := cmp.Diff(want, pairsOf(c.Tasks[0])); diff != "" {
		t.Errorf("pairs (-want +got):\n%s", diff)
	}
}

// TestCompareRunWithItself: every metric of a run against itself differs
// by nothing, and the paired intervals say so exactly.
func TestCompareRunWithItself(t *testing.T) {
	res, samples := fixtureRun(12, 3)
	dir := writeRun(t, res, samples)
	c, err := Compare(dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tc := range c.Tasks {
		for _, p := range tc.Rows {
			n++
			if !p.Both() || p.Delta != 0 || p.DeltaCI != [2]float64{} || p.Significant() {
				t.Errorf("%s %s: delta %v, interval %v", tc.Task, p.Metric, p.Delta, p.DeltaCI)
			}
			if p.Metric != "perplexity" && !p.Paired {
				t.Errorf("%s %s: not paired", tc.Task, p.Metric)
			}
		}
	}
	// gsm8k: 3 models; mmlu: 1 generated + 2 log-likelihood models by 2
	// metrics; perplexity: 2.
	if n != 3+1+2*2+2 {
		t.Errorf("%d pairs, want %d", n, 3+1+2*2+2)
	}
}
