package eval

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/enginetest"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

func loadLocal(t *testing.T, path string, slots int) (*engine.Engine, *Local) {
	t.Helper()
	e, err := engine.Load(path, engine.Options{Context: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(e, slots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		e.Close()
	})
	return e, l
}

// logSoftmax64 is a plain float64 log-softmax, the reference.
func logSoftmax64(x []float32, i int) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	return float64(x[i]) - m - math.Log(s)
}

// refLogLik scores one continuation the plain way: lm-evaluation-harness's
// tokenization of the pair, a fresh sequence, every position evaluated.
func refLogLik(t *testing.T, e *engine.Engine, ctxText, cont string) float64 {
	t.Helper()
	trimmed := strings.TrimRight(ctxText, " ")
	cont = ctxText[len(trimmed):] + cont
	whole, _ := e.Tok.Encode(trimmed+cont, true, false)
	ctxToks, _ := e.Tok.Encode(trimmed, true, false)
	toks := append(append([]int(nil), ctxToks...), whole[len(ctxToks):]...)
	seq := e.NewSequence()
	rows := make([][]float32, len(toks))
	if err := seq.Eval(toks, true, func(i int, l []float32) { rows[i] = append([]float32(nil), l...) }); err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for p := len(ctxToks); p < len(toks); p++ {
		sum += logSoftmax64(rows[p-1], toks[p])
	}
	return sum
}

func TestLocalLogLik(t *testing.T) {
	e, l := loadLocal(t, enginetest.TinyReasoner(t), 1)
	ctx := context.Background()
	const tol = 1e-4
	t.Logf("tolerance %g (float32 logits, float64 sums)", tol)
	for _, c := range []struct {
		context string
		conts   []string
	}{
		{"Question: what is the capital of France?\nAnswer:", []string{" A", " B", " C", " D"}},
		{"The quick brown fox ", []string{"jumps", "sleeps over the lazy dog", "x"}},
		{"The quick brown fox", []string{" jumps", " sleeps"}},
	} {
		got, err := l.LogLik(ctx, c.context, c.conts)
		if err != nil {
			t.Fatal(err)
		}
		for i, cont := range c.conts {
			want := refLogLik(t, e, c.context, cont)
			if math.Abs(got[i]-want) > tol || want >= 0 {
				t.Errorf("LogLik(%q, %q) = %v, reference %v", c.context, cont, got[i], want)
			}
		}
	}
	acc, norm := argmaxLogLik([]float64{-4, -3, -9}, []string{" a", " bb", " ccccccccc"})
	if acc != 1 || norm != 2 {
		t.Errorf("argmax: acc %d, acc_norm %d; want 1 (highest) and 2 (highest per byte)", acc, norm)
	}
}

func TestLocalPerplexity(t *testing.T) {
	e, l := loadLocal(t, enginetest.TinyReasoner(t), 1)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. 深度求索 reasons step by step. ", 12)
	chunks, err := l.Chunks(text, 32)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := e.Tok.Encode(text, false, false)
	if len(chunks) != len(all)/32 || len(chunks) < 2 {
		t.Fatalf("%d chunks of 32 from %d tokens", len(chunks), len(all))
	}
	const tol = 1e-3
	for i, ch := range chunks {
		got, err := l.Perplexity(context.Background(), ch)
		if err != nil {
			t.Fatal(err)
		}
		// Reference: BOS first, the second half scored, fresh sequence.
		toks := append([]int{e.Tok.BOS()}, ch[1:]...)
		seq := e.NewSequence()
		want, n := 0.0, 0
		seq.Eval(toks, true, func(j int, lg []float32) {
			if j >= 16 && j+1 < 32 {
				want -= logSoftmax64(lg, toks[j+1])
				n++
			}
		})
		if got.Tokens != n || n != 15 || math.Abs(got.NLL-want) > tol {
			t.Errorf("chunk %d: NLL %v over %d tokens, reference %v over %d (±%g)", i, got.NLL, got.Tokens, want, n, tol)
		}
	}
	if _, err := l.Chunks("short", 32); err == nil {
		t.Error("a text shorter than a chunk: no error")
	}
}

// TestLocalAndRemoteInOneRun runs a local model and a fake endpoint on one
// task: both land in one results.json, the local model also with
// log-likelihood scores.
func TestLocalAndRemoteInOneRun(t *testing.T) {
	_, l := loadLocal(t, enginetest.TinyReasoner(t), 2)
	fake := remotetest.New(t, remotetest.Knobs{Style: remotetest.ReasoningContent, Respond: func(r remotetest.Request) remotetest.Reply {
		return remotetest.Reply{Reasoning: "Paris is the capital.", Content: "The answer is (A)."}
	}})
	ep, err := remote.ParseEndpoint(fake.URL + "#fake-r1")
	if err != nil {
		t.Fatal(err)
	}
	task := &Task{Name: "capitals"}
	for i := range 3 {
		task.Items = append(task.Items, Item{ID: fmt.Sprint(i), Prompt: fmt.Sprintf("Capital %d of France?", i), Answer: "A",
			Choices: []string{"Paris", "Rome"}, Scorer: Choice, LogLikContext: "Capital of France?", LogLikChoices: []string{" Paris", " Rome"}})
	}
	perp := &Task{Name: "perplexity:text", Kind: Perplexity, Text: strings.Repeat("a small bird sings in the tall green tree. ", 20)}
	cfg := Options{Tasks: []*Task{task, perp}, Models: []*Model{
		{Name: "tiny-reasoner.gguf", Chat: l, Local: l, Info: ModelInfo{Kind: "local"}},
		{Name: fake.URL + "#fake-r1", Chat: remote.NewClient(ep, ""), Stream: true, Info: ModelInfo{Kind: "remote", Endpoint: fake.URL, Model: "fake-r1"}},
	}, Samples: 2, MaxTokens: 16, Temperature: 0.8, TopP: 0.95, Concurrency: 2, PerplexityChunk: 32, Limit: 2}
	dir := t.TempDir()
	res := runEval(t, dir, cfg)
	local, remoteScore := res.Tasks["capitals"]["tiny-reasoner.gguf"], res.Tasks["capitals"][fake.URL+"#fake-r1"]
	if local == nil || remoteScore == nil {
		t.Fatalf("results hold %v: want both models", res.Tasks["capitals"])
	}
	if remoteScore.Accuracy != 1 || remoteScore.N != 2 || remoteScore.LogLik != nil || remoteScore.Tokens.Reasoning == 0 {
		t.Errorf("remote: %+v; want accuracy 1 on 2 items, no log-likelihood, reasoning tokens counted", remoteScore)
	}
	if local.N != 2 || local.LogLik == nil || local.LogLik.N != 2 || local.Tokens.Completion == 0 {
		t.Errorf("local: %+v; want 2 items generated and scored by log-likelihood", local)
	}
	p := res.Tasks["perplexity:text"]
	if len(p) != 1 || p["tiny-reasoner.gguf"] == nil || p["tiny-reasoner.gguf"].Perplexity <= 1 || p["tiny-reasoner.gguf"].N != 2 {
		t.Errorf("perplexity: %+v; want the local model only, 2 chunks, perplexity > 1", p)
	}
	if res.Models[fake.URL+"#fake-r1"].Kind != "remote" || res.Models["tiny-reasoner.gguf"].Kind != "local" {
		t.Errorf("models %+v", res.Models)
	}
	samples, _ := ReadSamples(dir)
	modes := map[string]int{}
	for _, s := range samples {
		modes[s.Model[:4]+" "+s.Mode]++
	}
	want := map[string]int{"tiny generate": 4, "tiny loglik": 2, "tiny perplexity": 2, "http generate": 4}
	if fmt.Sprint(modes) != fmt.Sprint(want) {
		t.Errorf("samples by model and mode %v, want %v", modes, want)
	}
}

// TestLocalThinkBudget: on a local model the budget bounds the reasoning
// (its close is forced), so no sample reasons past it.
func TestLocalThinkBudget(t *testing.T) {
	_, l := loadLocal(t, enginetest.TinyReasoner(t), 2)
	task := &Task{Name: "q"}
	for i := range 3 {
		task.Items = append(task.Items, Item{ID: fmt.Sprint(i), Prompt: fmt.Sprintf("What is %d+1?", i), Answer: fmt.Sprint(i + 1), Scorer: Numeric})
	}
	cfg := Options{Tasks: []*Task{task}, Models: []*Model{{Name: "tiny", Chat: l, Local: l}}, Samples: 2, MaxTokens: 24,
		Temperature: 1, TopP: 1, ThinkBudgets: []int{0, 5}, Concurrency: 2}
	dir := t.TempDir()
	runEval(t, dir, cfg)
	samples, _ := ReadSamples(dir)
	seen, most := map[int]int{}, map[int]int{}
	for _, s := range samples {
		b := *s.ThinkBudget
		seen[b]++
		most[b] = max(most[b], s.Tokens.Reasoning)
		// The budget counts tokens after <think>; the forced close adds its own.
		if s.Tokens.Reasoning > b+2 || s.Tokens.Completion <= s.Tokens.Reasoning {
			t.Errorf("budget %d: %d reasoning tokens of %d (%q)", b, s.Tokens.Reasoning, s.Tokens.Completion, s.Raw)
		}
	}
	if seen[0] != 6 || seen[5] != 6 || most[5] <= most[0] {
		t.Errorf("samples per budget %v, want 6 each; most reasoning tokens per budget %v, want more at 5 than at 0", seen, most)
	}
}

// TestLocalLogLikRetokenized: TinyStories-656K's vocabulary has no merge
// scores, so "Once upon a" and "Once upon a dog" tokenize with different
// ends and the pair's tokens do not begin with the context's. The
// continuation is then scored as tokenized alone, and the story model
// prefers " time" after "Once upon a".
func TestLocalLogLikRetokenized(t *testing.T) {
	e, err := engine.Load(testdata.Path(t, "models", "TinyStories-656K-Q8_0.gguf"), engine.Options{Context: 128, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l, err := NewLocal(e, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ll, err := l.LogLik(context.Background(), "Once upon a", []string{" dog", " time"})
	if err != nil {
		t.Fatal(err)
	}
	if ll[0] >= 0 || ll[1] >= 0 || ll[1] <= ll[0] {
		t.Errorf("log-likelihoods %v: want both negative and \" time\" above \" dog\"", ll)
	}
}
