package eval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qilin-ai/qilin/remote"
)

// adder is a fake reasoning model for "What is A+B?": it reasons, then
// answers \boxed{A+B}, except for seeds divisible by 3, where it is off
// by one. With a thinking budget under 8 it never closes its reasoning.
// It counts the requests it gets.
type adder struct {
	mu    sync.Mutex
	asked map[string]int // prompt, seed and budget -> requests
	fail  func(req remote.ChatRequest) error
}

var sumRe = regexp.MustCompile(`What is (\d+)\+(\d+)\?`)

func (a *adder) right(seed int64) bool { return seed%3 != 0 }

func (a *adder) Chat(ctx context.Context, req remote.ChatRequest) (*remote.ChatResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if a.fail != nil {
		if err := a.fail(req); err != nil {
			return nil, err
		}
	}
	p := req.Messages[len(req.Messages)-1].Content
	a.mu.Lock()
	if a.asked == nil {
		a.asked = map[string]int{}
	}
	a.asked[fmt.Sprintf("%s|%d|%v", p, *req.Seed, budgetKey(req.ThinkBudget))]++
	a.mu.Unlock()
	m := sumRe.FindStringSubmatch(p)
	x, _ := strconv.Atoi(m[1])
	y, _ := strconv.Atoi(m[2])
	sum := x + y
	if !a.right(*req.Seed) {
		sum++
	}
	reasoning := fmt.Sprintf("I add %d and %d.", x, y)
	u := remote.Usage{PromptTokens: 10, CompletionTokens: 20, ReasoningTokens: 8}
	if b := req.ThinkBudget; b != nil && *b < 8 {
		return &remote.ChatResponse{Reasoning: reasoning, FinishReason: "length", Usage: u}, nil
	}
	return &remote.ChatResponse{Content: fmt.Sprintf("So the sum is \\boxed{%d}.", sum), Reasoning: reasoning,
		ReasoningClosed: true, FinishReason: "stop", Usage: u}, nil
}

func sumTask(n int) *Task {
	t := &Task{Name: "sums"}
	for i := range n {
		t.Items = append(t.Items, Item{ID: strconv.Itoa(i), Prompt: fmt.Sprintf("What is %d+%d?", i, 2*i), Answer: strconv.Itoa(3 * i), Scorer: Numeric})
	}
	return t
}

func runEval(t *testing.T, dir string, cfg Options) *Results {
	t.Helper()
	res, err := Run(context.Background(), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunScores(t *testing.T) {
	task := sumTask(6)
	a := &adder{}
	cfg := Options{Tasks: []*Task{task}, Models: []*Model{{Name: "adder", Chat: a, Info: ModelInfo{Kind: "remote"}}},
		Samples: 4, PassAt: []int{2, 4}, Temperature: 0.6, TopP: 0.95, Seed: 9, Concurrency: 3}
	dir := t.TempDir()
	res := runEval(t, dir, cfg)
	sc := res.Tasks["sums"]["adder"]
	if sc == nil {
		t.Fatalf("no score: %+v", res)
	}
	// What the scores must be, from the fake's rule.
	var fracs []float64
	p2, p4, cons, correct := 0.0, 0.0, 0, 0
	for _, it := range task.Items {
		c := 0
		for s := range 4 {
			if a.right(seed(9, "sums", it.ID, s)) {
				c++
			}
		}
		correct += c
		fracs = append(fracs, float64(c)/4)
		p2 += passAtKBrute(4, c, 2) / 6
		p4 += passAtKBrute(4, c, 4) / 6
		if c > 2 || (c == 2 && a.right(seed(9, "sums", it.ID, 0))) {
			cons++ // wrong answers all agree (sum+1), so a tie goes to sample 0
		}
	}
	acc, ci := MeanCI(fracs)
	want := &Score{Accuracy: acc, N: 6, CI95: ci, PassAt: map[string]float64{"1": acc, "2": p2, "4": p4},
		ConsAt: map[string]float64{"4": float64(cons) / 6}, Tokens: Tokens{Prompt: 240, Completion: 480, Reasoning: 192},
		Samples: 4, Correct: correct}
	if correct == 0 || correct == 24 {
		t.Fatalf("the fake's answers are all alike (%d of 24 right): the test checks nothing", correct)
	}
	opt := cmpopts.IgnoreFields(Score{}, "Seconds", "TokPerS")
	if diff := cmp.Diff(want, sc, opt, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("score (-want +got):\n%s", diff)
	}
	// The files: results.json as returned, every sample once.
	got, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("results.json differs from the returned results (-want +got):\n%s", diff)
	}
	samples, err := ReadSamples(dir)
	if err != nil || len(samples) != 24 {
		t.Fatalf("%d samples, %v; want 24", len(samples), err)
	}
	s0 := samples[0]
	if s0.Task != "sums" || s0.ID != "0" || s0.Sample != 0 || s0.Prompt != "What is 0+0?" || s0.Reasoning != "I add 0 and 0." || s0.Mode != "generate" {
		t.Errorf("first sample %+v", s0)
	}
	for k, n := range a.asked {
		if n != 1 {
			t.Errorf("%s asked %d times", k, n)
		}
	}
}

func TestRunThinkBudgets(t *testing.T) {
	a := &adder{}
	cfg := Options{Tasks: []*Task{sumTask(3)}, Models: []*Model{{Name: "adder", Chat: a}}, Samples: 1, ThinkBudgets: []int{64, 4}, Seed: 1}
	res := runEval(t, t.TempDir(), cfg)
	sc := res.Tasks["sums"]["adder"]
	if sc.ThinkBudget == nil || *sc.ThinkBudget != 64 || len(sc.ThinkBudgets) != 2 {
		t.Fatalf("top-level budget %v, budgets %v: want 64 and two", sc.ThinkBudget, sc.ThinkBudgets)
	}
	low := sc.ThinkBudgets["4"]
	if low.Accuracy != 0 || low.Unfinished != 3 || low.N != 3 {
		t.Errorf("budget 4: accuracy %v, unfinished %d, n %d; want 0, 3, 3 (reasoning never closed)", low.Accuracy, low.Unfinished, low.N)
	}
	if hi := sc.ThinkBudgets["64"]; hi.Accuracy != sc.Accuracy || hi.Unfinished != 0 {
		t.Errorf("budget 64: %+v, top level %+v", hi, sc)
	}
}

func TestRunResumes(t *testing.T) {
	task := sumTask(8)
	opts := func(m ChatModel) Options {
		return Options{Tasks: []*Task{task}, Models: []*Model{{Name: "adder", Chat: m}}, Samples: 3, Seed: 4, Concurrency: 2}
	}
	clean := t.TempDir()
	runEval(t, clean, opts(&adder{}))
	want, _ := ReadSamples(clean)

	dir := t.TempDir()
	a := &adder{}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := opts(a)
	cfg.OnProgress = func(p Progress) {
		if p.Done >= 7 {
			cancel()
		}
	}
	if _, err := Run(ctx, dir, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	// A kill in the middle of an append leaves a torn line.
	f, _ := os.OpenFile(filepath.Join(dir, SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"task":"sums","model":"adder","id":"7","sa`)
	f.Close()
	before := len(a.asked)
	var notes []string
	cfg = opts(a)
	cfg.Logf = func(f string, args ...any) { notes = append(notes, fmt.Sprintf(f, args...)) }
	runEval(t, dir, cfg)
	got, _ := ReadSamples(dir)
	ignore := cmpopts.IgnoreFields(Sample{}, "Seconds")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("samples after an interrupted run and a rerun differ from an uninterrupted run (-want +got):\n%s", diff)
	}
	for k, n := range a.asked {
		if n != 1 {
			t.Errorf("%s asked %d times", k, n)
		}
	}
	if before < 7 || len(a.asked) != 24 {
		t.Errorf("%d requests before the interruption, %d in all; want at least 7, then 24", before, len(a.asked))
	}
	t.Logf("notes: %q", notes)
}

func TestRunFailuresStayMissing(t *testing.T) {
	var mu sync.Mutex
	failing := true
	a := &adder{fail: func(req remote.ChatRequest) error {
		mu.Lock()
		defer mu.Unlock()
		if failing && req.Messages[0].Content == "What is 1+2?" {
			return &remote.Error{Endpoint: "fake", Status: 500, Message: "boom"}
		}
		return nil
	}}
	cfg := Options{Tasks: []*Task{sumTask(3)}, Models: []*Model{{Name: "adder", Chat: a}}, Samples: 2}
	dir := t.TempDir()
	res := runEval(t, dir, cfg)
	if sc := res.Tasks["sums"]["adder"]; sc.Errors != 2 || sc.N != 2 {
		t.Errorf("errors %d, n %d; want 2 missing samples, 2 items", sc.Errors, sc.N)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	res = runEval(t, dir, cfg)
	if sc := res.Tasks["sums"]["adder"]; sc.Errors != 0 || sc.N != 3 {
		t.Errorf("after a rerun: errors %d, n %d; want 0, 3", sc.Errors, sc.N)
	}
}

func TestRunRejects(t *testing.T) {
	if _, err := Run(context.Background(), t.TempDir(), Options{}); err == nil {
		t.Error("no tasks: no error")
	}
	cfg := Options{Tasks: []*Task{sumTask(1)}, Models: []*Model{{Name: "a", Chat: &adder{}}}, Samples: 2, PassAt: []int{3}}
	if _, err := Run(context.Background(), t.TempDir(), cfg); err == nil {
		t.Error("pass@3 of 2 samples: no error")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SamplesFile), []byte("not json\n"), 0o644)
	cfg.PassAt = nil
	if _, err := Run(context.Background(), dir, cfg); err == nil {
		t.Error("a corrupt samples.jsonl: no error")
	}
}
