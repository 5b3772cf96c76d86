package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/eval/report"
)

// evalDir writes an eval directory holding only results.json.
func evalDir(t *testing.T, results string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, report.ResultsFile), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEvalCompare(t *testing.T) {
	teacher := evalDir(t, `{"tasks": {"gsm8k": {"teacher.gguf": {"accuracy": 0.8, "n": 400, "ci95": [0.76, 0.84], "pass_at": {"1": 0.8}, "samples": 1, "correct": 320, "tokens": {"prompt": 1, "completion": 64000, "reasoning": 0}, "seconds": 100, "tok_per_s": 640}}}}`)
	student := evalDir(t, `{"tasks": {"gsm8k": {"student.gguf": {"accuracy": 0.6, "n": 400, "ci95": [0.55, 0.65], "pass_at": {"1": 0.6}, "samples": 1, "correct": 240, "tokens": {"prompt": 1, "completion": 48000, "reasoning": 0}, "seconds": 40, "tok_per_s": 1200}}}}`)
	out := filepath.Join(t.TempDir(), "cmp")
	var stdout bytes.Buffer
	if err := runEvalCompare([]string{teacher, student}, out, &stdout); err != nil {
		t.Fatal(err)
	}
	// -20 points; independent standard errors 0.04/1.96 and 0.05/1.96.
	for _, want := range []string{"teacher.gguf", "student.gguf", "80.0% [76.0, 84.0]", "60.0% [55.0, 65.0]", "-20.0 pt [-26.4, -13.6]  *", "wrote " + filepath.Join(out, "report.html")} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Error(err)
	}

	other := evalDir(t, `{"tasks": {"mmlu": {"m": {"accuracy": 0.5, "n": 10}}}}`)
	err := runEvalCompare([]string{teacher, other}, "", &stdout)
	if !errors.Is(err, report.ErrNoSharedTask) || !strings.Contains(err.Error(), "has gsm8k") || !strings.Contains(err.Error(), "has mmlu") {
		t.Errorf("runs without a shared task: %v", err)
	}
	if err := runEvalCompare([]string{teacher}, "", &stdout); !errors.Is(err, errUsage) {
		t.Errorf("one directory: got %v, want a usage error", err)
	}
}
