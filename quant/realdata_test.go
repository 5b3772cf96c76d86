package quant_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/quant"
)

// The shared synthetic models hold the same random weights quantized by
// llama.cpp's llama-quantize (no importance matrix) into each format, and in
// F32. That makes them a byte-exact reference for the quantizers and a
// real-data check of the decoders and dot products.

// quantizedFiles maps each F32 model to the files quantized from it.
var quantizedFiles = []struct {
	f32   string
	quant []string
	short bool // also run under -short
}{
	{"syn-qwen2-f32.gguf", []string{"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k"}, true},
	{"syn-llama-f32.gguf", []string{"q8_0", "q4_k_m"}, false},
	{"syn-qwen3-f32.gguf", []string{"q8_0", "q4_k_m"}, false},
	{"syn-qwen3moe-f32.gguf", []string{"q8_0", "q4_k_m"}, false},
}

func openModel(t *testing.T, name string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(testdata.Path(t, "models", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// forEachPair calls fn for every tensor of every quantized file whose type
// this package implements (other than F32), with the F32 original.
func forEachPair(t *testing.T, fn func(t *testing.T, file string, q, ref *gguf.Tensor)) {
	for _, fam := range quantizedFiles {
		if testing.Short() && !fam.short {
			continue
		}
		ref := openModel(t, fam.f32)
		prefix := fam.f32[:len(fam.f32)-len("f32.gguf")]
		for _, suffix := range fam.quant {
			file := prefix + suffix + ".gguf"
			t.Run(file, func(t *testing.T) {
				t.Parallel()
				qf := openModel(t, file)
				counts := map[quant.Type]int{}
				for _, qt := range qf.Tensors {
					if qt.Type == quant.F32 || !quant.Supported(qt.Type) {
						continue
					}
					rt, ok := ref.Tensor(qt.Name)
					if !ok || rt.Type != quant.F32 || rt.NumElements() != qt.NumElements() {
						t.Fatalf("%s: no F32 original of the same size in %s", qt.Name, fam.f32)
					}
					fn(t, file, qt, rt)
					counts[qt.Type]++
				}
				if len(counts) == 0 {
					t.Fatalf("%s: no quantized tensors", file)
				}
				t.Logf("tensors checked by type: %v", counts)
			})
		}
	}
}

func decodeF32(t *testing.T, ref *gguf.Tensor) []float32 {
	t.Helper()
	x := make([]float32, ref.NumElements())
	if err := quant.Dequantize(quant.F32, ref.Data, x); err != nil {
		t.Fatal(err)
	}
	return x
}

// Quantizing the F32 weights reproduces llama-quantize's bytes exactly, for
// every format in the files (F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K).
func TestRealTensorsRequantizeExactly(t *testing.T) {
	forEachPair(t, func(t *testing.T, file string, qt, rt *gguf.Tensor) {
		got := make([]byte, len(qt.Data))
		if err := quant.Quantize(qt.Type, decodeF32(t, rt), got); err != nil {
			t.Fatalf("%s: %v", qt.Name, err)
		}
		if string(got) == string(qt.Data) {
			return
		}
		bs := qt.Type.BlockSize()
		for i := range got {
			if got[i] != qt.Data[i] {
				t.Errorf("%s (%s): first difference in block %d, byte %d: got %#02x, llama.cpp %#02x",
					qt.Name, qt.Type, i/bs, i%bs, got[i], qt.Data[i])
				return
			}
		}
	})
}

// Each quantized tensor decodes close to its F32 original: relative RMSE
// within the format's bound.
func TestRealTensorsDequantizeClose(t *testing.T) {
	forEachPair(t, func(t *testing.T, file string, qt, rt *gguf.Tensor) {
		y := make([]float32, qt.NumElements())
		if err := quant.Dequantize(qt.Type, qt.Data, y); err != nil {
			t.Fatalf("%s: %v", qt.Name, err)
		}
		got, bound := quant.RelRMSE(decodeF32(t, rt), y), quant.RelRMSEBound[qt.Type]
		if !(got <= bound) {
			t.Errorf("%s (%s): relative RMSE %.5f above bound %.5f", qt.Name, qt.Type, got, bound)
		}
	})
}

// Dot products of real weight rows with quantized activations agree with
// the dot of the decoded rows.
func TestRealTensorsVecDot(t *testing.T) {
	forEachPair(t, func(t *testing.T, file string, qt, rt *gguf.Tensor) {
		n := int(qt.Dims[0])
		rowBytes, err := qt.Type.RowSize(n)
		if err != nil {
			t.Fatal(err)
		}
		at := quant.VecDotType(qt.Type)
		a := make([]byte, must(at.RowSize(n)))
		if err := quant.Quantize(at, quant.Normals(uint64(n), n, 1), a); err != nil {
			t.Fatal(err)
		}
		rows := min(qt.Rows(), 8)
		for r := 0; r < rows; r++ {
			w := qt.Data[r*rowBytes : (r+1)*rowBytes]
			got := quant.VecDot(qt.Type, n, w, a)
			want, mag := quant.DequantDot(t, qt.Type, n, w, a)
			if diff := math.Abs(float64(got) - want); diff > quant.DotRelTol*mag {
				t.Errorf("%s (%s) row %d: VecDot %.7g, decoded dot %.7g, |diff| %.3g > %.3g",
					qt.Name, qt.Type, r, got, want, diff, quant.DotRelTol*mag)
			}
		}
	})
}

func must(n int, err error) int {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return n
}
