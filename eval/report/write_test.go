package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/eval"
)

func writeAndRead(t *testing.T, dir string) string {
	t.Helper()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriteEscapesHostileText: prompts, answers and model names reach the
// page as text, never as markup.
func TestWriteEscapesHostileText(t *testing.T) {
	res, samples := fixtureRun(6, 2)
	html := writeAndRead(t, writeRun(t, res, samples))
	for _, bad := range []string{"<script", "<img", "<b>model", `"onmouseover="`, "<helium>", "<i>pick"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(", "evil&lt;b&gt;model&lt;/b&gt;", "&lt;helium&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks the escaped text %q", want)
		}
	}
	// The template's own markup outside the hostile text stays balanced.
	if o, c := strings.Count(html, "<details"), strings.Count(html, "</details>"); o != c || o == 0 {
		t.Errorf("%d <details> opened, %d closed", o, c)
	}
}

// TestWriteSelfContained: nothing on the page points outside it.
func TestWriteSelfContained(t *testing.T) {
	res, samples := fixtureRun(4, 2)
	html := writeAndRead(t, writeRun(t, res, samples))
	if !strings.Contains(html, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("no Content-Security-Policy forbidding fetches")
	}
	ref := regexp.MustCompile(`(?i)(src|href)\s*=\s*"([^"#][^"]*)"`)
	for _, m := range ref.FindAllStringSubmatch(html, -1) {
		t.Errorf("the page refers to %s=%q", m[1], m[2])
	}
	for _, bad := range []string{"<script", "<link", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
}

// TestWriteTable: one row per model and task, with the numbers of
// results.json written out.
func TestWriteTable(t *testing.T) {
	res, samples := fixtureRun(10, 4)
	html := writeAndRead(t, writeRun(t, res, samples))
	tables := regexp.MustCompile(`(?s)<table class="results" aria-label="([^"]+) results">(.*?)</table>`).FindAllStringSubmatch(html, -1)
	rows := map[string]int{}
	for _, tb := range tables {
		rows[tb[1]] = strings.Count(tb[2], "<tr") - 1 // less the header
	}
	over := regexp.MustCompile(`(?s)<table class="overview" aria-label="overview">(.*?)</table>`).FindStringSubmatch(html)
	if over == nil || strings.Count(over[1], "<tr")-1 != 3 {
		t.Errorf("no overview table of 3 models")
	} else if !strings.Contains(over[1], "ppl 9.50") || !strings.Contains(over[1], percent(res.Tasks["gsm8k"][fixtureModels[0]].Accuracy, 1)) {
		t.Errorf("the overview lacks a model's perplexity or accuracy")
	}
	want := map[string]int{"gsm8k": 3, "mmlu": 3, "perplexity": 2}
	for task, n := range want {
		if rows[task] != n {
			t.Errorf("%s table: %d rows, want %d", task, rows[task], n)
		}
	}
	gsm := res.Tasks["gsm8k"][fixtureModels[1]]
	for _, cell := range []string{percent(gsm.Accuracy, 1), interval(gsm.CI95), percent(gsm.PassAt["4"], 1), "pass@4", "cons@4",
		"acc_norm", "perplexity", "9.500"} {
		if !strings.Contains(html, cell) {
			t.Errorf("the page lacks %q", cell)
		}
	}
}

// TestWriteCharts: the figures a run calls for, and only those.
func TestWriteCharts(t *testing.T) {
	res, samples := fixtureRun(10, 4)
	html := writeAndRead(t, writeRun(t, res, samples))
	for _, name := range []string{"gsm8k: accuracy per model", "gsm8k: accuracy vs thinking budget", "gsm8k: tokens per correct answer",
		"gsm8k: seconds per correct answer", "mmlu: accuracy per model", "perplexity: perplexity per model"} {
		if !strings.Contains(html, `role="img" aria-label="`+name+`"`) {
			t.Errorf("no chart %q", name)
		}
	}
	// The budget chart's numbers: each model at each budget.
	b := res.Tasks["gsm8k"][fixtureModels[0]].ThinkBudgets["1024"]
	if !strings.Contains(html, `aria-label="gsm8k accuracy by thinking budget"`) || !strings.Contains(html, percent(b.Accuracy, 1)+" "+interval(b.CI95)+" · ") {
		t.Error("no table of accuracy by budget with the 1024-token budget's accuracy")
	}
	if strings.Contains(html, "mmlu: accuracy vs thinking budget") {
		t.Error("a budget chart for a task run at one budget")
	}
	// One budget only: no budget chart.
	for _, sc := range res.Tasks["gsm8k"] {
		sc.ThinkBudgets = nil
	}
	html = writeAndRead(t, writeRun(t, res, samples))
	if strings.Contains(html, "accuracy vs thinking budget") {
		t.Error("a budget chart without several budgets")
	}
}

// TestBarChartGeometry: bars are as long as their values on the axis,
// and error bars span the interval.
func TestBarChartGeometry(t *testing.T) {
	c := barChart("x", "accuracy", []bar{{Label: "a", Value: 0.5, Lo: 0.25, Hi: 0.75}, {Label: "b", Value: 1}}, 1, func(float64) string { return "" })
	if len(c.Rects) != 2 {
		t.Fatalf("%d bars, want 2", len(c.Rects))
	}
	a, b := c.Rects[0], c.Rects[1]
	const tol = 1e-9
	if d := a.W*2 - b.W; d > tol || d < -tol {
		t.Errorf("bar widths %.3f and %.3f: want the first half the second (tolerance %g)", a.W, b.W, tol)
	}
	var err []shape
	for _, l := range c.Lines {
		if l.Class == "err" {
			err = append(err, l)
		}
	}
	if len(err) != 3 {
		t.Fatalf("%d error-bar lines, want 3", len(err))
	}
	span := err[0].X2 - err[0].X
	if d := span - b.W/2; d > tol || d < -tol {
		t.Errorf("error bar spans %.3f, want %.3f (half the axis; tolerance %g)", span, b.W/2, tol)
	}
	if mid := (err[0].X + err[0].X2) / 2; mid-(a.X+a.W) > tol || mid-(a.X+a.W) < -tol {
		t.Errorf("error bar centred at %.3f, bar ends at %.3f", mid, a.X+a.W)
	}
}

// TestDrillDownBounded: a run of many samples shows a bounded number,
// wrong ones first, long texts cut.
func TestDrillDownBounded(t *testing.T) {
	long := strings.Repeat("reasoning goes on ", 2000)
	ss := newSampleSet()
	for i := range 100 {
		ss.add(eval.Sample{Task: "t", Model: "m", ID: "i", Correct: i%5 != 0, Raw: long})
	}
	if kept := ss.models("t")["m"]; len(kept.wrong) > maxShown || len(kept.right) > maxShown {
		t.Errorf("kept %d wrong and %d right samples of 100, want at most %d each", len(kept.wrong), len(kept.right), maxShown)
	}
	g := drillDown([]string{"m"}, map[string]int{"m": 0}, ss.models("t"))
	if len(g) != 1 {
		t.Fatalf("%d groups", len(g))
	}
	if g[0].Shown != maxShown || len(g[0].Samples) != maxShown || g[0].Total != 100 || g[0].Correct != 80 {
		t.Errorf("shown %d (%d), total %d, correct %d; want %d, 100, 80", g[0].Shown, len(g[0].Samples), g[0].Total, g[0].Correct, maxShown)
	}
	wrong := 0
	for i, s := range g[0].Samples {
		if !s.Correct {
			wrong++
			if i >= maxShown-minCorrect {
				t.Errorf("wrong sample at %d, after the correct ones", i)
			}
		}
		if n := len([]rune(s.Raw.Text)); n > maxText+3 {
			t.Errorf("raw text of %d characters, want at most %d", n, maxText)
		}
		if s.Raw.Left != len(long)-maxText*2/3-maxText/3 {
			t.Errorf("%d characters said left out, want %d", s.Raw.Left, len(long)-maxText)
		}
	}
	if wrong != maxShown-minCorrect {
		t.Errorf("%d wrong samples shown, want %d", wrong, maxShown-minCorrect)
	}
}

// TestWriteWithoutSamples: results.json alone still makes a page, which says so.
func TestWriteWithoutSamples(t *testing.T) {
	res, samples := fixtureRun(4, 1)
	dir := writeRun(t, res, samples)
	if err := os.Remove(filepath.Join(dir, SamplesFile)); err != nil {
		t.Fatal(err)
	}
	html := writeAndRead(t, dir)
	if !strings.Contains(html, "has no samples.jsonl") || strings.Contains(html, "<details") {
		t.Error("a page without samples.jsonl should say so and have no drill-down")
	}
}

// TestWriteTornLastLine: a samples.jsonl cut short in its last line (a
// killed run) is read up to it; a broken line inside is an error.
func TestWriteTornLastLine(t *testing.T) {
	res, samples := fixtureRun(4, 1)
	dir := writeRun(t, res, samples)
	name := filepath.Join(dir, SamplesFile)
	b, _ := os.ReadFile(name)
	if err := os.WriteFile(name, append(b, `{"task":"gsm8k","mod`...), 0o644); err != nil {
		t.Fatal(err)
	}
	if html := writeAndRead(t, dir); !strings.Contains(html, "was cut short") {
		t.Error("the page does not say that the last line was cut short")
	}
	if err := os.WriteFile(name, append([]byte("{\"task\":\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a broken first line: got %v, want an error naming line 1", err)
	}
}

// TestWriteBadInput: clear errors for a missing or malformed results.json.
func TestWriteBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err == nil || !strings.Contains(err.Error(), ResultsFile) {
		t.Errorf("no results.json: %v", err)
	}
	for _, body := range []string{"", "[]", `{"tasks": 3}`, `{}`, `{"tasks": {"gsm8k": {"m": null}}}`} {
		if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Write(dir); err == nil {
			t.Errorf("results.json %q: no error", body)
		}
	}
}
