package train

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/logitcmp"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// TestInitMatchesReference initializes students from the shared reference
// models (--init: F32, F16, BF16 read directly, Q8_0 and K-quants
// dequantized) and checks the training forward against the references'
// exact-math logits (float64 on the dequantized weights), then exports each
// as F32 and checks model.Load against the training forward: the round trip
// on real trained weights (stories260K, TinyStories-656K) as well as the
// synthetic ones.
func TestInitMatchesReference(t *testing.T) {
	dir := testdata.Dir(t)
	pool := kernels.NewPool(2)
	defer pool.Close()
	for _, name := range []string{"stories260K.p1", "TinyStories-656K-Q8_0.p2", "syn-llama-f32", "syn-qwen2-f32",
		"syn-qwen2-bf16", "syn-qwen2-f16", "syn-qwen2-q8_0", "syn-qwen2-q4_k_m"} {
		t.Run(name, func(t *testing.T) {
			var ref struct {
				Model        string  `json:"model"`
				NVocab       int     `json:"n_vocab"`
				PromptTokens []int32 `json:"prompt_tokens"`
				ExactFile    string  `json:"exact_logits_file"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "refs", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			exact := readF32(t, filepath.Join(dir, "refs", ref.ExactFile))
			f, err := gguf.Open(filepath.Join(dir, "models", ref.Model))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			T := len(ref.PromptTokens)
			m, err := FromGGUF(f, pool, 1, T, nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			b := NewBatch(1, T)
			for i, tok := range ref.PromptTokens {
				b.Tokens[i], b.Pos[i], b.Target[i] = tok, int32(i), -1
			}
			got := make([]float32, T*ref.NVocab)
			m.logitsOf(b, got)
			kl, top1 := logitcmp.Compare(exact, got, ref.NVocab)
			t.Logf("training forward vs exact math: mean KL %.3g, top-1 %.0f%% over %d positions (tolerance 1e-6)", kl, 100*top1, T)
			if kl > 1e-6 {
				t.Errorf("training forward differs from the exact reference: mean KL %g", kl)
			}
			out := filepath.Join(t.TempDir(), "student.gguf")
			if err := m.Export(out, ExportOptions{Type: quant.F32, Name: "round trip", Tokenizer: f}); err != nil {
				t.Fatal(err)
			}
			inf, _ := inferenceLogits(t, out, ref.PromptTokens)
			kl, top1 = logitcmp.Compare(got, inf, ref.NVocab)
			t.Logf("exported F32, model.Load vs training forward: mean KL %.3g, top-1 %.0f%% (tolerance 1e-5)", kl, 100*top1)
			if kl > 1e-5 {
				t.Errorf("round trip: mean KL %g", kl)
			}
			checkExportedMetadata(t, out, f)
		})
	}
}

// checkExportedMetadata checks the keys llama.cpp's loader reads for the
// architecture (with the integer and float types it demands), and that the
// tokenizer metadata came along.
func checkExportedMetadata(t *testing.T, path string, src *gguf.File) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := f.Arch() + "."
	for _, k := range []string{"context_length", "embedding_length", "block_count", "feed_forward_length",
		"attention.head_count", "attention.head_count_kv", "rope.dimension_count", "vocab_size"} {
		if v, ok := f.Get(a + k); !ok {
			t.Errorf("missing %s%s", a, k)
		} else if _, ok := v.(uint32); !ok {
			t.Errorf("%s%s is %T, llama.cpp wants uint32", a, k, v)
		}
	}
	for _, k := range []string{"rope.freq_base", "attention.layer_norm_rms_epsilon"} {
		if v, ok := f.Get(a + k); !ok {
			t.Errorf("missing %s%s", a, k)
		} else if _, ok := v.(float32); !ok {
			t.Errorf("%s%s is %T, llama.cpp wants float32", a, k, v)
		}
	}
	if v, _ := f.Get("general.file_type"); v != uint32(0) {
		t.Errorf("general.file_type = %v, want uint32 0 (all F32)", v)
	}
	for _, kv := range src.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			if _, ok := f.Get(kv.Key); !ok {
				t.Errorf("tokenizer key %s was not carried over", kv.Key)
			}
		}
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return v
}
