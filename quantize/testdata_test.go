package quantize

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestMatchesLlamaQuantize quantizes the shared F32 synthetic models with
// every recipe the shared data has a llama-quantize output for, and compares
// the tensor types, the tensor order, the metadata and the bytes.
func TestMatchesLlamaQuantize(t *testing.T) {
	for _, tc := range []struct{ src, ref, ft string }{
		// -short runs those in shortRefs (the K-quant encoders are slow).
		{"syn-qwen2-f32", "syn-qwen2-q4_k_m", "Q4_K_M"},
		{"syn-qwen2-f32", "syn-qwen2-q5_k_m", "Q5_K_M"},
		{"syn-qwen2-f32", "syn-qwen2-q6_k", "Q6_K"},
		{"syn-qwen2-f32", "syn-qwen2-q8_0", "Q8_0"},
		{"syn-qwen2-f32", "syn-qwen2-q5_0", "Q5_0"},
		{"syn-qwen2-f32", "syn-qwen2-q4_0", "Q4_0"},
		{"syn-qwen2-f32", "syn-qwen2-q4_1", "Q4_1"},
		{"syn-qwen2-f32", "syn-qwen2-q3_k_m", "Q3_K_M"},
		{"syn-qwen2-f32", "syn-qwen2-q2_k", "Q2_K"},
		{"syn-qwen2-f32", "syn-qwen2-f16", "F16"},
		{"syn-qwen2-f32", "syn-qwen2-bf16", "BF16"},
		{"syn-llama-f32", "syn-llama-q4_k_m", "Q4_K_M"},
		{"syn-llama-f32", "syn-llama-q8_0", "Q8_0"},
		{"syn-qwen3-f32", "syn-qwen3-q4_k_m", "Q4_K_M"},
		{"syn-qwen3-f32", "syn-qwen3-q8_0", "Q8_0"},
		{"syn-qwen3moe-f32", "syn-qwen3moe-q4_k_m", "Q4_K_M"},
		{"syn-qwen3moe-f32", "syn-qwen3moe-q8_0", "Q8_0"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			if testing.Short() && !shortRefs[tc.ref] {
				t.Skip("-short")
			}
			in := openTestdata(t, tc.src)
			ref := openTestdata(t, tc.ref)
			ft, err := ParseFileType(tc.ft)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.gguf")
			if _, err := File(context.Background(), in, out, Options{Type: ft}); err != nil {
				t.Fatal(err)
			}
			got, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if diff := cmp.Diff(tensorList(ref), tensorList(got)); diff != "" {
				t.Fatalf("tensors (name type dims) differ from llama-quantize's (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ref.KV, got.KV); diff != "" {
				t.Errorf("metadata differs from llama-quantize's (-want +got):\n%s", diff)
			}
			for i, rt := range ref.Tensors {
				if gt := got.Tensors[i]; !bytes.Equal(rt.Data, gt.Data) {
					t.Errorf("tensor %s (%s): bytes differ from llama-quantize's", rt.Name, rt.Type)
				}
			}
		})
	}
}

var shortRefs = map[string]bool{"syn-qwen2-q4_k_m": true, "syn-qwen2-q8_0": true, "syn-llama-q4_k_m": true, "syn-qwen3moe-q8_0": true}

func openTestdata(t *testing.T, name string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(testdata.Path(t, "models", name+".gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// tensorList renders a file's tensors as "name type dims" lines.
func tensorList(f *gguf.File) []string {
	var s []string
	for _, t := range f.Tensors {
		s = append(s, t.String())
	}
	return s
}
