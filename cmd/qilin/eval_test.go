package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/qilin-ai/qilin/eval"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/hub/hubtest"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

// writeSumsTask writes a custom task of n sums ("What is A+B?") with a
// multiple-choice item, and returns its path.
func writeSumsTask(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id": "s%d", "prompt": "What is %d+%d?", "answer": "%d"}`+"\n", i, i, 2*i, 3*i)
	}
	b.WriteString(`{"id": "c0", "prompt": "Capital of France?", "answer": "Paris", "choices": ["Paris", "Rome"]}` + "\n")
	path := filepath.Join(t.TempDir(), "sums.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var sumQuestion = regexp.MustCompile(`What is (\d+)\+(\d+)\?`)

// respondSums answers sums with \boxed{A+B} after a reasoning block,
// wrong (off by one) for seeds divisible by 3, and "(A)" to the choice.
func respondSums(r remotetest.Request) remotetest.Reply {
	q := r.Messages[len(r.Messages)-1].Content
	m := sumQuestion.FindStringSubmatch(q)
	if m == nil {
		return remotetest.Reply{Reasoning: "Paris is in France.", Content: "The answer is (A)."}
	}
	x, _ := strconv.Atoi(m[1])
	y, _ := strconv.Atoi(m[2])
	sum := x + y
	if *r.Seed%3 == 0 {
		sum++
	}
	return remotetest.Reply{Reasoning: "I add " + m[1] + " and " + m[2] + ".", Content: "So it is \\boxed{" + strconv.Itoa(sum) + "}."}
}

// gsm8kParquet is a tiny openai/gsm8k test file.
func gsm8kParquet(t *testing.T) []byte {
	type row struct {
		Question string `parquet:"question"`
		Answer   string `parquet:"answer"`
	}
	var b bytes.Buffer
	if err := parquet.Write(&b, []row{{"What is 3+4?", "3+4=<<3+4=7>>7\n#### 7"}, {"What is 10+20?", "#### 30"}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEvalLocalAndRemote runs a built-in task (from the emulated Hub) and
// a custom one on the built-in local model and a fake endpoint at once:
// one results.json holds both models, the report is written, and a second
// run offline finds the task data in the store.
func TestEvalLocalAndRemote(t *testing.T) {
	h := hubtest.New(t)
	h.Add("datasets/openai/gsm8k", "main/test-00000-of-00001.parquet", gsm8kParquet(t))
	t.Setenv("HF_ENDPOINT", h.URL)
	t.Setenv("QILIN_MODELS", t.TempDir())
	fake := remotetest.New(t, remotetest.Knobs{Style: remotetest.ReasoningContent, Respond: respondSums})
	remoteName := fake.URL + "#fake-r1"
	task := writeSumsTask(t, 4)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"eval", "--task", "gsm8k," + task, "--model", builtinmodel.Name, "--model", remoteName, "--out", dir,
		"--samples", "3", "--pass-at", "2", "--max-tokens", "12", "--concurrency", "2", "--seed", "5", "--quiet"}
	var out bytes.Buffer
	if code := runMain(context.Background(), args, &out, &out); code != 0 {
		t.Fatalf("status %d\n%s", code, out.String())
	}
	res, err := eval.ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gsm8k", "sums"} {
		if res.Tasks[name][builtinmodel.Name] == nil || res.Tasks[name][remoteName] == nil {
			t.Errorf("%s: results for %v, want both models", name, res.Tasks[name])
		}
	}
	if res.Models[builtinmodel.Name].Kind != "local" || res.Models[remoteName].Kind != "remote" {
		t.Errorf("models %+v", res.Models)
	}
	// The fake's score, from its rule: right unless the seed is 0 mod 3.
	samples, _ := eval.ReadSamples(dir)
	right, n := 0, 0
	for _, s := range samples {
		if s.Model == remoteName && s.Task == "gsm8k" {
			n++
			if s.Seed%3 != 0 {
				right++
			}
			if s.Reasoning == "" || !strings.HasPrefix(s.Prompt, "What is") {
				t.Errorf("remote sample %+v: want the reasoning kept apart and the question in the prompt", s)
			}
		}
	}
	if sc := res.Tasks["gsm8k"][remoteName]; n != 6 || sc.Correct != right || sc.N != 2 {
		t.Errorf("gsm8k on the fake: %d samples, score %+v; want 6 samples, %d correct, 2 items", n, sc, right)
	}
	if sc := res.Tasks["sums"][builtinmodel.Name]; sc.LogLik == nil || sc.LogLik.N != 1 {
		t.Errorf("sums on the local model: %+v; want the choice item scored by log-likelihood", sc)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Errorf("no report: %v", err)
	}
	for _, want := range []string{"gsm8k", "sums", remoteName, builtinmodel.Name, "pass@2", "cons@3", "report.html"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Offline, in a new directory: the task data comes from the store.
	t.Setenv("QILIN_OFFLINE", "1")
	out.Reset()
	args[6+2] = filepath.Join(t.TempDir(), "offline")
	if code := runMain(context.Background(), args, &out, &out); code != 0 {
		t.Fatalf("offline run: status %d\n%s", code, out.String())
	}
}

// TestEvalKilled: a run killed twice with SIGKILL and rerun with the same
// command ends with the samples of an uninterrupted run, and no answer on
// disk is asked for again.
func TestEvalKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test skipped in -short mode")
	}
	fake := remotetest.New(t, remotetest.Knobs{Style: remotetest.ReasoningInline, Delay: 2 * time.Millisecond, Respond: respondSums})
	task := writeSumsTask(t, 12)
	args := func(dir string) []string {
		return []string{"eval", "--task", task, "--model", fake.URL + "#fake-r1", "--out", dir, "--samples", "3",
			"--concurrency", "4", "--seed", "2", "--think-budget", "64,256", "--quiet"}
	}
	ref := filepath.Join(t.TempDir(), "ref")
	var refOut bytes.Buffer
	if code := runMain(context.Background(), args(ref), &refOut, &refOut); code != 0 {
		t.Fatalf("reference run: status %d\n%s", code, refOut.String())
	}
	want, _ := eval.ReadSamples(ref)
	if len(want) != 13*3*2 {
		t.Fatalf("%d samples in the reference run, want %d", len(want), 13*3*2)
	}
	asked := len(fake.Requests())

	dir := filepath.Join(t.TempDir(), "killed")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	samplesPath := filepath.Join(dir, eval.SamplesFile)
	run := func(killAfter int) {
		// What is on disk before the run must not be asked again.
		have := map[string]bool{}
		if onDisk, err := eval.ReadSamples(dir); err == nil {
			for _, s := range onDisk {
				have[fmt.Sprintf("%s|%d|%d", s.Prompt, s.Seed, *s.ThinkBudget)] = true
			}
		}
		from := len(fake.Requests())
		runKilled(t, exe, args(dir), killAfter, func() int { return lines(samplesPath) }, "samples")
		for _, r := range fake.Requests()[from:] {
			var body struct {
				Budget int `json:"thinking_budget_tokens"`
			}
			json.Unmarshal(r.Body, &body)
			k := fmt.Sprintf("%s|%d|%d", r.Messages[len(r.Messages)-1].Content, *r.Seed, body.Budget)
			if have[k] {
				t.Errorf("asked again for %s, whose answer was on disk", k)
			}
		}
	}
	run(10)
	run(40)
	run(0)
	got, err := eval.ReadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(eval.Sample{}, "Seconds")); diff != "" {
		t.Errorf("samples after two kills differ from an uninterrupted run's (-want +got):\n%s", diff)
	}
	a, _ := eval.ReadResults(ref)
	b, _ := eval.ReadResults(dir)
	ignore := cmpopts.IgnoreFields(eval.Score{}, "Seconds", "TokPerS")
	if diff := cmp.Diff(a, b, ignore); diff != "" {
		t.Errorf("results, times aside (-uninterrupted +killed):\n%s", diff)
	}
	t.Logf("requests: %d for the reference run, %d for the killed runs", asked, len(fake.Requests())-asked)
}

func TestEvalUsage(t *testing.T) {
	task := writeSumsTask(t, 1)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--model", "x", "--out", "d"}, "--task, --model and --out are required"},
		{[]string{"eval", "--task", task, "--model", builtinmodel.Name, "--out", "d", "--samples", "2", "--pass-at", "3"}, "--pass-at 3 needs --samples 3"},
		{[]string{"eval", "--task", task, "--model", builtinmodel.Name, "--out", "d", "--think-budget", "x"}, "--think-budget"},
		{[]string{"eval", "--task", task, "--model", builtinmodel.Name, "--model", builtinmodel.Name, "--out", "d"}, "given twice"},
		{[]string{"eval", "--task", "squad", "--model", builtinmodel.Name, "--out", t.TempDir()}, "unknown task"},
		{[]string{"eval", "--task", task, "--model", "/nonexistent.gguf", "--out", t.TempDir()}, "no such file"},
		{[]string{"eval", "--compare", t.TempDir()}, "--compare takes two eval directories"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		code := runMain(context.Background(), tt.args, &out, &out)
		if code == 0 || !strings.Contains(out.String(), tt.want) {
			t.Errorf("qilin %q: status %d, output %q; want an error with %q", tt.args, code, out.String(), tt.want)
		}
	}
}
