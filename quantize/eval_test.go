package quantize_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/logitcmp"
	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

// TestQuantizedEvaluation quantizes a random-weight model and compares the
// engine's logits on it with the logits of an F32 copy of its own
// dequantized weights: what is left is the engine's quantized arithmetic
// (8-bit activations, integer dot products), which must stay within the
// reference tolerance of mean KL <= 1e-3. (Top-1 agreement is reported, not
// checked: random weights give flat distributions with near-ties.)
func TestQuantizedEvaluation(t *testing.T) {
	s, err := synth.Lookup("tiny-qwen2")
	if err != nil {
		t.Fatal(err)
	}
	// 256 wide so that the K-quants are used rather than their fallbacks;
	// an untied output so that logits are spread.
	s.NEmbd, s.NHead, s.NHeadKV, s.NFF, s.Tied = 256, 4, 1, 512, false
	dir := t.TempDir()
	src := filepath.Join(dir, "f32.gguf")
	if err := synth.Write(src, s, synth.Options{Type: quantize.F32, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	ref := logits(t, src)
	for _, tc := range []struct {
		ft    quantize.FileType
		limit float64 // mean KL against the dequantized twin; 0: report only
	}{
		{quantize.Q8_0, 1e-3},
		{quantize.Q6_K, 1e-3},
		{quantize.Q4_K_M, 0},
	} {
		t.Run(tc.ft.String(), func(t *testing.T) {
			q := filepath.Join(dir, tc.ft.String()+".gguf")
			quantizeFile(t, src, q, quantize.Options{Type: tc.ft})
			twin := filepath.Join(dir, tc.ft.String()+"-dequantized.gguf")
			quantizeFile(t, q, twin, quantize.Options{Type: quantize.F32, AllowRequantize: true})
			got, exact := logits(t, q), logits(t, twin)
			kl, top1 := compare(exact, got)
			klSrc, _ := compare(ref, got)
			t.Logf("%v: mean KL(dequantized F32 || engine on %v) = %.2e, top-1 agreement %.1f%%; against the original F32 weights KL = %.2e",
				tc.ft, tc.ft, kl, 100*top1, klSrc)
			if tc.limit > 0 && kl > tc.limit {
				t.Errorf("mean KL %.2e above the limit %.0e", kl, tc.limit)
			}
			if kl >= klSrc {
				t.Errorf("the twin of dequantized weights (KL %.2e) should be closer than the original weights (KL %.2e)", kl, klSrc)
			}
		})
	}
}

func quantizeFile(t *testing.T, in, out string, opts quantize.Options) {
	t.Helper()
	f, err := gguf.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := quantize.File(context.Background(), f, out, opts); err != nil {
		t.Fatal(err)
	}
}

// logits evaluates a fixed prompt in one batch and returns every position's
// logits.
func logits(t *testing.T, path string) [][]float32 {
	t.Helper()
	e, err := engine.Load(path, engine.Options{Threads: 2, Context: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ids, err := e.Tok.Encode("The quick brown fox jumps over the lazy dog. 深度求索 reasons step by step: 12+30=42, so the answer is", false, false)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	err = e.NewSequenceBatch(len(ids)).Eval(ids, true, func(_ int, l []float32) {
		out = append(out, append([]float32(nil), l...))
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compare returns the mean KL(softmax(p) ‖ softmax(q)) over rows and the
// share of rows with the same argmax.
func compare(p, q [][]float32) (kl, top1 float64) {
	return logitcmp.Compare(slices.Concat(p...), slices.Concat(q...), len(p[0]))
}
