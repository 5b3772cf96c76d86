package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzWrite: whatever results.json and samples.jsonl hold, Write returns
// a page or an error, never panics or hangs, and hostile text never
// reaches the page as markup.
func FuzzWrite(f *testing.F) {
	res, samples := fixtureRun(3, 2)
	seedDir := writeRun(f, res, samples)
	r, _ := os.ReadFile(filepath.Join(seedDir, ResultsFile))
	s, _ := os.ReadFile(filepath.Join(seedDir, SamplesFile))
	f.Add(r, s)
	f.Add([]byte(`{"tasks": {"t": {"m": {"accuracy": 1e308, "n": -1, "ci95": [-1e308, 1e308], "correct": -3, "think_budgets": {"1": null, "x": {"accuracy": 5e-324}}}}}}`),
		[]byte(`{"task": "t", "model": "m", "choices": ["<script>"], "loglik": [1]}`+"\n"+`{"task": "t"`))
	f.Add([]byte(`{"tasks": {"<t>": {"<m>": {"perplexity": 1e-320, "loglik": {"acc": 2}}}}}`), []byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, results, samples []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ResultsFile), results, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, SamplesFile), samples, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Write(dir); err != nil {
			return
		}
		page, err := os.ReadFile(filepath.Join(dir, ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(page), "<script") {
			t.Error("a <script> on the page")
		}
	})
}
