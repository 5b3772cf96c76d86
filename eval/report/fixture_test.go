package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/qilin-ai/qilin/eval"
)

// The tests draw reports of runs they write themselves: a few models, a
// local and a remote one among them, on a generative task with several
// thinking budgets, a multiple-choice task scored both ways, and the
// perplexity task. The scores are computed here from the samples, so
// that the two files agree as eval writes them.

// Hostile text: answers and names that would break a page that did not
// escape them.
const (
	hostileRaw   = `<script>alert("raw")</script></pre></details><img src=x onerror=alert(1)> {{.Title}} The answer is 41.`
	hostileModel = `evil<b>model</b>"onmouseover="alert(2)`
)

var fixtureModels = []string{
	"models/DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf",
	"https://api.deepseek.com#deepseek-reasoner",
	hostileModel,
}

// fixtureRun returns results and samples of a made-up run: model m answers
// item i of a task correctly when (i*7+sample*3+m*5+budget) mod 10 is
// below its skill.
func fixtureRun(items, samples int) (*eval.Results, []eval.Sample) {
	res := &eval.Results{
		Tasks:  map[string]map[string]*eval.Score{},
		Models: map[string]eval.ModelInfo{},
		Config: &eval.Config{Tasks: []string{"gsm8k", "mmlu", "perplexity"}, Models: fixtureModels, Samples: samples,
			PassAt: []int{1, samples}, ThinkBudgets: []int{256, 1024}, Temperature: 0.6, TopP: 0.95, MaxTokens: 2048, Seed: 1},
	}
	res.Models[fixtureModels[0]] = eval.ModelInfo{Kind: "local", Model: fixtureModels[0]}
	res.Models[fixtureModels[1]] = eval.ModelInfo{Kind: "remote", Endpoint: "https://api.deepseek.com", Model: "deepseek-reasoner"}
	res.Models[fixtureModels[2]] = eval.ModelInfo{Kind: "local"}
	var all []eval.Sample
	skill := []int{5, 8, 3}
	for _, task := range []string{"gsm8k", "mmlu", "perplexity"} {
		res.Tasks[task] = map[string]*eval.Score{}
	}
	for m, model := range fixtureModels {
		budgets := map[string]*eval.Score{}
		var top *eval.Score
		for b, budget := range []int{256, 1024, -1} {
			var ss []eval.Sample
			for i := range items {
				for k := range samples {
					s := eval.Sample{Task: "gsm8k", Model: model, ID: fmt.Sprintf("gsm8k-%d", i), Sample: k, Mode: "generate",
						Prompt: fmt.Sprintf("Natalia sold clips to %d of her friends. How many clips did she sell?", 40+i),
						Answer: strconv.Itoa(42 + i), Tokens: eval.Tokens{Prompt: 60 + i, Completion: 300 + 50*b + 10*m, Reasoning: 250 + 50*b},
						Seconds: 0.5 + 0.2*float64(m) + 0.1*float64(b), FinishReason: "stop"}
					if budget >= 0 {
						s.ThinkBudget = &budget
					}
					s.Correct = (i*7+k*3+m*5+b)%10 < skill[m]+b
					s.Reasoning = "Let me think step by step. " + s.Prompt
					if s.Correct {
						s.Extracted, s.Verdict = s.Answer, "correct"
						s.Raw = s.Reasoning + "\n</think>\n\n#### " + s.Answer
					} else {
						s.Extracted, s.Verdict, s.Raw = "41", "wrong", s.Reasoning+"\n</think>\n\n"+hostileRaw
					}
					if i == 1 && k == 0 {
						s.Correct, s.Extracted, s.Verdict, s.Raw, s.FinishReason = false, "", "unclosed reasoning", s.Reasoning, "length"
					}
					ss = append(ss, s)
				}
			}
			sc := score(ss, items, samples)
			key := "unbounded"
			if budget >= 0 {
				key = strconv.Itoa(budget)
				sc.ThinkBudget = &budget
			}
			budgets[key], top = sc, sc
			all = append(all, ss...)
		}
		clone := *top
		clone.ThinkBudgets = budgets
		res.Tasks["gsm8k"][model] = &clone

		// mmlu: log-likelihood for the local models, a generated letter for the remote one.
		var ss []eval.Sample
		for i := range items {
			s := eval.Sample{Task: "mmlu", Model: model, ID: fmt.Sprintf("mmlu-%d", i), Mode: "loglik", Answer: "B",
				Prompt: "Which gas do plants take in? <i>pick one</i>", Choices: []string{"oxygen", "carbon dioxide", "argon", "<helium>"},
				LogLik: []float64{-3.5, -1.25, -4, -6}}
			if m == 1 {
				s.Mode, s.LogLik, s.Raw = "generate", nil, "The answer is (B)."
				s.Tokens, s.Seconds = eval.Tokens{Prompt: 80, Completion: 40 + i, Reasoning: 30}, 0.4
			}
			s.Correct = (i+m)%3 != 0
			s.Extracted, s.Verdict = "B", "correct"
			if !s.Correct {
				s.Extracted, s.Verdict = "A", "wrong"
			}
			ss = append(ss, s)
		}
		sc := score(ss, items, 1)
		if m != 1 {
			norm := 0
			for i := range ss {
				ss[i].CorrectNorm = ss[i].Correct && i%4 != 1
				if ss[i].CorrectNorm {
					norm++
				}
			}
			accNorm := float64(norm) / float64(items)
			sc = &eval.Score{N: items, LogLik: &eval.LogLikScore{Acc: sc.Accuracy, AccCI95: sc.CI95, AccNorm: accNorm,
				AccNormCI95: [2]float64{max(accNorm-0.2, 0), min(accNorm+0.2, 1)}, N: items, Seconds: 3}}
		}
		res.Tasks["mmlu"][model] = sc
		all = append(all, ss...)
		if m != 1 {
			res.Tasks["perplexity"][model] = &eval.Score{N: 8, Perplexity: 9.5 + 3*float64(m), Tokens: eval.Tokens{Prompt: 4096}, Seconds: 2}
			all = append(all, eval.Sample{Task: "perplexity", Model: model, ID: "chunk-0", Mode: "perplexity", Prompt: "Once upon a time",
				NLL: 1000, Tokens: eval.Tokens{Prompt: 512}, Correct: true, Verdict: "scored"})
		}
	}
	return res, all
}

// score computes pass@1 with its interval over items, pass@k and cons@k.
func score(ss []eval.Sample, items, samples int) *eval.Score {
	sc := &eval.Score{N: items, Samples: samples, PassAt: map[string]float64{}}
	perItem := make([]int, items)
	for _, s := range ss {
		sc.Tokens.Prompt += s.Tokens.Prompt
		sc.Tokens.Completion += s.Tokens.Completion
		sc.Tokens.Reasoning += s.Tokens.Reasoning
		sc.Seconds += s.Seconds
		if s.Verdict == "unclosed reasoning" {
			sc.Unfinished++
		}
		if s.Correct {
			sc.Correct++
			var i int
			fmt.Sscanf(s.ID[len(s.Task)+1:], "%d", &i)
			perItem[i]++
		}
	}
	var mean, sq, any float64
	for _, c := range perItem {
		p := float64(c) / float64(samples)
		mean += p
		sq += p * p
		if c > 0 {
			any++
		}
	}
	n := float64(items)
	mean /= n
	sd := math.Sqrt(max(sq/n-mean*mean, 0) / n)
	sc.Accuracy, sc.CI95 = mean, [2]float64{max(mean-1.96*sd, 0), min(mean+1.96*sd, 1)}
	sc.PassAt["1"] = mean
	if samples > 1 {
		sc.PassAt[strconv.Itoa(samples)] = any / n
		sc.ConsAt = map[string]float64{strconv.Itoa(samples): mean}
	}
	if sc.Seconds > 0 {
		sc.TokPerS = float64(sc.Tokens.Completion) / sc.Seconds
	}
	return sc
}

// writeRun writes results and samples into a new directory.
func writeRun(t testing.TB, res *eval.Results, samples []eval.Sample) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []byte
	for _, s := range samples {
		l, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, l...), '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, SamplesFile), lines, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
