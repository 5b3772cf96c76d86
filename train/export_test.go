package train

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/logitcmp"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/quant"
)

// vocabFile writes a GGUF holding only a byte-level vocabulary of n tokens
// and returns it opened: the tokenizer a test student is exported with.
func vocabFile(t *testing.T, n int) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	toks := make([]string, n)
	types := make([]int32, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("t%d", i)
		types[i] = 1
	}
	w.SetKV("tokenizer.ggml.model", "gpt2")
	w.SetKV("tokenizer.ggml.tokens", toks)
	w.SetKV("tokenizer.ggml.token_type", types)
	w.SetKV("tokenizer.ggml.merges", []string{})
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// inferenceLogits runs the exported file through model.Load and a Runner
// over one document, all positions in one batch.
func inferenceLogits(t *testing.T, path string, tokens []int32) ([]float32, int) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.Load(f)
	if err != nil {
		t.Fatalf("model.Load of the exported student: %v", err)
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	n := len(tokens)
	r := m.NewRunner(pool, n, n)
	cache := m.NewCache(n)
	b := &model.Batch{}
	for i, tok := range tokens {
		b.Tokens = append(b.Tokens, int(tok))
		b.Pos = append(b.Pos, i)
		b.Caches = append(b.Caches, cache)
		b.Logits = append(b.Logits, true)
	}
	out := make([]float32, n*m.NVocab)
	if err := r.Forward(b, out); err != nil {
		t.Fatal(err)
	}
	return out, m.NVocab
}

// TestExportRoundTrip exports students (both architectures, tied and
// untied, from scratch and LoRA-merged over a Q8_0 base) and checks that
// model.Load computes the training forward's logits: mean KL ≤ 1e-5 for
// F32 files, ≤ 1e-3 for F16. The weights are drawn at the scale of small
// trained models (standard deviation 0.2; stories260K's matrices have
// 0.05-0.3): what remains between the two forwards is inference's f16
// attention arithmetic (f16 query, keys, values and accumulator, as
// llama.cpp's), which grows with the logits' scale. The training forward
// itself agrees with the float64 twin to ~1e-12 KL (TestForwardMatchesTwin).
func TestExportRoundTrip(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, tc := range []struct {
		arch string
		tied bool
		typ  quant.Type
		lora bool
		tol  float64
	}{
		{"llama", true, quant.F32, false, 1e-5},
		{"qwen2", false, quant.F32, false, 1e-5},
		{"qwen2", true, quant.F16, false, 1e-3},
		{"llama", false, quant.F32, true, 1e-5},
		{"qwen2", true, quant.F32, true, 1e-5},
	} {
		t.Run(fmt.Sprintf("%s/tied=%v/%s/lora=%v", tc.arch, tc.tied, tc.typ, tc.lora), func(t *testing.T) {
			c := Config{Arch: tc.arch, NVocab: 96, NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, HeadDim: 16, NFF: 96,
				NCtx: 64, RopeBase: 10000, NormEps: 1e-5, Tied: tc.tied}
			const T = 24
			rng := rand.New(rand.NewPCG(11, 12))
			m, err := NewStudent(c, pool, 1, T, 3)
			if err != nil {
				t.Fatal(err)
			}
			roughen(m, rng, 0.2)
			vocab := vocabFile(t, c.NVocab)
			dir := t.TempDir()
			if tc.lora {
				m = loraOverQ8(t, m, vocab, pool, rng, T)
			}
			path := filepath.Join(dir, "student.gguf")
			if err := m.Export(path, ExportOptions{Type: tc.typ, Name: "test student", Tokenizer: vocab}); err != nil {
				t.Fatal(err)
			}
			b := NewBatch(1, T)
			for i := 0; i < T; i++ {
				b.Tokens[i], b.Pos[i], b.Target[i] = int32(rng.IntN(c.NVocab)), int32(i), -1
			}
			want := make([]float32, T*c.NVocab)
			m.logitsOf(b, want)
			got, nv := inferenceLogits(t, path, b.Tokens)
			if nv != c.NVocab {
				t.Fatalf("loaded vocabulary %d, want %d", nv, c.NVocab)
			}
			kl, top1 := logitcmp.Compare(want, got, c.NVocab)
			t.Logf("mean KL(training forward ‖ model.Load) = %.3g over %d positions, top-1 agreement %.0f%% (tolerance %g)", kl, T, 100*top1, tc.tol)
			if kl > tc.tol {
				t.Errorf("mean KL %g exceeds %g", kl, tc.tol)
			}
		})
	}
}

// loraOverQ8 exports m, quantizes its matrices to Q8_0, loads that as a
// LoRA base with adapters on attention and FFN, and gives the adapters
// random nonzero values, so that the merge matters.
func loraOverQ8(t *testing.T, m *Model, vocab *gguf.File, pool *kernels.Pool, rng *rand.Rand, T int) *Model {
	t.Helper()
	w, err := m.exportWriter(ExportOptions{Type: quant.F32, Name: "base", Tokenizer: vocab})
	if err != nil {
		t.Fatal(err)
	}
	f32 := filepath.Join(t.TempDir(), "base-f32.gguf")
	if err := w.WriteFile(f32); err != nil {
		t.Fatal(err)
	}
	q8 := quantizeMatrices(t, f32, quant.Q8_0)
	f, err := gguf.Open(q8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lm, err := FromGGUF(f, pool, 1, T, &LoRA{Rank: 4, Alpha: 8, Targets: []string{"attn", "ffn"}}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if lm.blocks[0].q.base.Type != quant.Q8_0 {
		t.Fatalf("LoRA base is %s, want it kept as Q8_0", lm.blocks[0].q.base.Type)
	}
	for _, s := range lm.params.specs {
		if !s.frozen {
			v := lm.params.get(s.name)
			for i := range v {
				v[i] = float32(0.1 * rng.NormFloat64())
			}
		}
	}
	return lm
}

// quantizeMatrices rewrites a GGUF with its 2-D tensors in type q.
func quantizeMatrices(t *testing.T, path string, q quant.Type) string {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KV {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, tn := range f.Tensors {
		typ, data := tn.Type, tn.Data
		if len(tn.Dims) == 2 {
			v := make([]float32, tn.NumElements())
			if err := quant.Dequantize(tn.Type, tn.Data, v); err != nil {
				t.Fatal(err)
			}
			rb, _ := q.RowSize(int(tn.Dims[0]))
			data = make([]byte, rb*int(tn.Dims[1]))
			if err := quant.Quantize(q, v, data); err != nil {
				t.Fatal(err)
			}
			typ = q
		}
		if err := w.AddTensor(tn.Name, typ, tn.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "base-q.gguf")
	if err := w.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestForwardMatchesTwin checks the training forward's logits against the
// float64 twin's.
func TestForwardMatchesTwin(t *testing.T) {
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, arch := range []string{"llama", "qwen2"} {
		c := tinyConfig(arch, arch == "qwen2")
		rng := rand.New(rand.NewPCG(13, 14))
		m, err := NewStudent(c, pool, 2, 10, 1)
		if err != nil {
			t.Fatal(err)
		}
		roughen(m, rng, 0.4)
		b := testBatch(rng, 2, 10, c.NVocab)
		got := make([]float32, 20*c.NVocab)
		m.logitsOf(b, got)
		kl, _ := logitcmp.Compare(to32(newRef64(m).logits64(b)), got, c.NVocab)
		t.Logf("%s: mean KL(float64 twin ‖ training forward) = %.3g (tolerance 1e-9)", arch, kl)
		if kl > 1e-9 {
			t.Errorf("%s: training forward differs from its float64 twin: mean KL %g", arch, kl)
		}
	}
}
