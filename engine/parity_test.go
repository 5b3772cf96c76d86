package engine

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/logitcmp"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// ref is one reference file of ../shared/testdata/refs.
type ref struct {
	Model             string `json:"model"`
	Prompt            string `json:"prompt"`
	AddSpecial        bool   `json:"add_special"`
	NVocab            int    `json:"n_vocab"`
	PromptTokens      []int  `json:"prompt_tokens"`
	GreedyTokens      []int  `json:"greedy_tokens"`
	GreedyTokensExact []int  `json:"greedy_tokens_exact"`
	LogitsFile        string `json:"logits_file"`
	ExactLogitsFile   string `json:"exact_logits_file"`
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// nextRequired lists the prefixes of ../shared/testdata/next/refs that the
// code supports and CI therefore requires, as it requires every file of
// refs/. An engineer bringing a next/ family in adds its prefix here.
var nextRequired = []string{
	"syn-deepseek2-",     // MLA with q LoRA, sigmoid router with selection bias, expert groups, shared expert
	"syn-deepseek2lite-", // MLA without q LoRA, softmax router, YaRN
	"syn-qwen2w-",        // n_embd 768, head_dim 64, n_ff of 7 super-blocks, untied, rope base 250000
	"syn-llamaw-",        // head_dim 128, rope base 500000
	"syn-qwen35-",        // Gated DeltaNet + gated attention, qwen35 pre-tokenizer
}

// TestReferenceParity checks every model in ../shared/testdata/refs, and the
// files of ../shared/testdata/next/refs named by nextRequired, against
// llama.cpp's and the exact-math references, with the tolerances of the
// testdata README: prompt tokens identical; mean KL and top-1 agreement of the
// prompt logits; greedy continuation identical.
func TestReferenceParity(t *testing.T) {
	dir := testdata.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "refs", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no references in %s/refs: %v", dir, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) { checkReference(t, dir, file) })
	}
	for _, prefix := range nextRequired {
		next, err := filepath.Glob(filepath.Join(dir, "next", "refs", prefix+"*.json"))
		if err != nil || len(next) == 0 {
			t.Fatalf("no references %s* in %s/next/refs: %v", prefix, dir, err)
		}
		for _, file := range next {
			name := "next/" + strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(name, func(t *testing.T) { checkReference(t, filepath.Join(dir, "next"), file) })
		}
	}
}

// checkReference runs one reference file, whose model and logits lie under
// dir/models and dir/refs.
//
// Quantized mixture-of-experts files (as the testdata README and issue 10
// say) are judged differently: quantization noise flips near-tie expert
// choices, so llama.cpp itself lands far from exact math on random-weight
// files. Such a file passes by following llama.cpp (mean KL <= 1e-2 and its
// first 8 greedy tokens), by being no further from exact math than
// llama.cpp is (KL(exact || qilin) <= 1.5 KL(exact || llama.cpp) + 1e-3), or
// by the README's rule for the refs/ MoE files (KL <= 1e-2 and top-1 >= 90%
// against either reference, and the first 4 greedy tokens).
//
// Quantized qwen35 (hybrid) files take the same two rules, following
// llama.cpp to mean KL <= 1e-3 (issue 17).
func checkReference(t *testing.T, dir, file string) {
	var r ref
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	e, err := Load(filepath.Join(dir, "models", r.Model), Options{Threads: 2, Context: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Model.NVocab != r.NVocab {
		t.Fatalf("n_vocab %d, reference %d", e.Model.NVocab, r.NVocab)
	}

	toks, err := e.Tok.Encode(r.Prompt, r.AddSpecial, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(toks, r.PromptTokens) {
		t.Errorf("prompt tokens:\n got %v\nwant %v", toks, r.PromptTokens)
	}

	got := make([]float32, 0, len(r.PromptTokens)*r.NVocab)
	seq := e.NewSequenceBatch(len(r.PromptTokens))
	if err := seq.Eval(r.PromptTokens, true, func(_ int, l []float32) { got = append(got, l...) }); err != nil {
		t.Fatal(err)
	}
	moe := e.Model.NExpert > 0
	float := false
	for _, s := range []string{"f32", "f16", "bf16"} {
		float = float || strings.HasSuffix(r.Model, "-"+s+".gguf")
	}
	moeQuant := moe && !float
	// Quantized qwen35 files: the gated norm after the delta rule amplifies
	// rounding, so llama.cpp lands at KL ~1e-2 from exact math; the same two
	// rules as for quantized MoE files apply, with llama.cpp followed to 1e-3.
	hybridQuant := e.Model.Family.Hybrid && !float
	maxKL, minTop1 := 1e-3, 0.98
	if moeQuant {
		maxKL, minTop1 = 1e-2, 0.90
	}
	llama, exact := readF32(t, filepath.Join(dir, "refs", r.LogitsFile)), readF32(t, filepath.Join(dir, "refs", r.ExactLogitsFile))
	klLlama, top1Llama := logitcmp.Compare(llama, got, r.NVocab)
	klExact, top1Exact := logitcmp.Compare(exact, got, r.NVocab)
	t.Logf("vs %-40s mean KL %.3g (max %g), top-1 %.1f%% (min %.0f%%)", r.LogitsFile, klLlama, maxKL, 100*top1Llama, 100*minTop1)
	t.Logf("vs %-40s mean KL %.3g (max %g), top-1 %.1f%% (min %.0f%%)", r.ExactLogitsFile, klExact, maxKL, 100*top1Exact, 100*minTop1)
	logitsOK := (klLlama <= maxKL && top1Llama >= minTop1) || (klExact <= maxKL && top1Exact >= minTop1)

	// Greedy continuation, one token at a time after the prompt.
	n := max(len(r.GreedyTokens), len(r.GreedyTokensExact))
	var greedy []int
	last := got[len(got)-r.NVocab:]
	for len(greedy) < n {
		tok := logitcmp.Argmax(last)
		greedy = append(greedy, tok)
		if e.Tok.IsEOG(tok) {
			break // the references end with the end-of-generation token
		}
		if err := seq.Eval([]int{tok}, false, func(_ int, l []float32) { last = l }); err != nil {
			t.Fatal(err)
		}
	}
	prefix := func(want []int, k int) bool {
		return len(greedy) >= k && len(want) >= k && slices.Equal(greedy[:k], want[:k])
	}
	// Float files (MoE too: llama.cpp and exact math agree on every token
	// there) must continue identically; quantized MoE files, the first 4.
	match := func(want []int) bool {
		if moeQuant {
			return prefix(want, 4)
		}
		return slices.Equal(greedy[:min(len(greedy), len(want))], want)
	}
	greedyOK := match(r.GreedyTokens) || match(r.GreedyTokensExact)
	greedyNote := fmt.Sprintf("greedy continuation matches (%d tokens): %v", min(len(greedy), n), greedy)

	if (moeQuant || hybridQuant) && !(logitsOK && greedyOK) {
		klRef, _ := logitcmp.Compare(exact, llama, r.NVocab)
		follow := 1e-2
		if hybridQuant {
			follow = 1e-3
		}
		followsLlama := klLlama <= follow && prefix(r.GreedyTokens, 8)
		nearExact := klExact <= 1.5*klRef+1e-3
		t.Logf("quantized MoE or hybrid: KL(exact || llama.cpp) %.3g; follows llama.cpp (KL <= %g, first 8 greedy tokens): %v; "+
			"KL(exact || qilin) %.3g <= 1.5 x %.3g + 0.001: %v", klRef, follow, followsLlama, klExact, klRef, nearExact)
		logitsOK, greedyOK = followsLlama || nearExact, true
		greedyNote = fmt.Sprintf("greedy continuation (first 8 tokens of llama.cpp's required when following it): %v", greedy)
	}
	if !logitsOK {
		t.Errorf("logits outside tolerance of both references")
	}
	if !greedyOK {
		t.Errorf("greedy continuation:\n got %v\nwant %v\n  or %v (exact)", greedy, r.GreedyTokens, r.GreedyTokensExact)
	} else {
		t.Log(greedyNote)
	}
	t.Logf("greedy: the first %d of %d tokens as llama.cpp's, %d of %d as exact math's",
		commonPrefix(greedy, r.GreedyTokens), len(r.GreedyTokens), commonPrefix(greedy, r.GreedyTokensExact), len(r.GreedyTokensExact))
}
