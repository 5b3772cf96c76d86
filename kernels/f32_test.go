package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// f32Bytes stores x as F32 weights or activations.
func f32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	if err := quant.Quantize(quant.F32, x, b); err != nil {
		panic(err)
	}
	return b
}

// TestF32Orders checks that every kernel set computes the bits of the two
// F32 twins (ggml_vec_dot_f32's and tinyBLAS's orders), that the two orders
// do differ (so the choice between them is tested), and that each agrees
// with the exact dot product to float32 rounding.
func TestF32Orders(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	differ := false
	for _, n := range []int{0, 1, 16, 48, 63, 64, 65, 100, 256, 320, 1000, 2048} {
		for rep := 0; rep < 20; rep++ {
			x := randVec(rng, 2*n, 1)
			w, a := f32Bytes(x[:n]), f32Bytes(x[n:])
			vec := dotF32Vec(n, w, a, nil)
			var exact, mag float64
			for i := 0; i < n; i++ {
				exact += float64(x[i]) * float64(x[n+i])
				mag += math.Abs(float64(x[i]) * float64(x[n+i]))
			}
			if tol := 1e-6 * (mag + 1); math.Abs(float64(vec)-exact) > tol {
				t.Fatalf("n=%d: dotF32Vec %v, exact %v (tolerance %g)", n, vec, exact, tol)
			}
			for _, ks := range kernelSets {
				if got := ks.dot(quant.F32).one(n, w, a, nil); math.Float32bits(got) != math.Float32bits(vec) {
					t.Errorf("%s n=%d: vec_dot order %v, twin %v", ks.name, n, got, vec)
				}
			}
			if n%16 != 0 {
				continue
			}
			gemm := dotF32Gemm(n, w, a, nil)
			if tol := 1e-6 * (mag + 1); math.Abs(float64(gemm)-exact) > tol {
				t.Fatalf("n=%d: dotF32Gemm %v, exact %v (tolerance %g)", n, gemm, exact, tol)
			}
			differ = differ || gemm != vec
			for _, ks := range kernelSets {
				k := ks.dotFor(Matrix{Type: quant.F32, Rows: 4, Cols: n}, 2)
				if got := k.one(n, w, a, nil); math.Float32bits(got) != math.Float32bits(gemm) {
					t.Errorf("%s n=%d: tinyBLAS order %v, twin %v", ks.name, n, got, gemm)
				}
			}
		}
	}
	if !differ {
		t.Error("the vec_dot and tinyBLAS orders never differ: the test cannot tell them apart")
	}
}

// TestMatMulF32Order checks which order MatMul takes for F32 weights, as
// llama.cpp's mul_mat does: tinyBLAS for two or more rows of a 2-D weight
// whose columns are a multiple of 16 and rows of 4, ggml_vec_dot_f32 for
// one row, for experts and per-head stacks, and for other shapes.
func TestMatMulF32Order(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 43))
	for _, c := range []struct {
		rows, cols, n int
		layout        Layout
		gemm          bool
	}{
		{8, 256, 1, Plain, false},
		{8, 256, 2, Plain, true},
		{8, 256, 9, Plain, true},
		{8, 256, 9, Expert, false},
		{8, 256, 9, Unpacked, false},
		{6, 256, 9, Plain, false},
		{8, 200, 9, Plain, false},
	} {
		w := fastMatrix(rng, quant.F32, c.rows, c.cols)
		w.Layout = c.layout
		x := randVec(rng, c.n*c.cols, 1)
		a := f32Bytes(x)
		for _, ks := range kernelSets {
			p := NewPool(2)
			p.ks = ks
			out := make([]float32, c.n*c.rows)
			p.MatMul(out, w, x, c.n, make([]byte, ActivationBytes(quant.F32, c.cols, c.n)))
			p.Close()
			for i := 0; i < c.n; i++ {
				for r := 0; r < c.rows; r++ {
					wr, ar := w.Data[r*w.RowBytes:(r+1)*w.RowBytes], a[i*4*c.cols:(i+1)*4*c.cols]
					want := dotF32Vec(c.cols, wr, ar, nil)
					if c.gemm {
						want = dotF32Gemm(c.cols, wr, ar, nil)
					}
					if got := out[i*c.rows+r]; math.Float32bits(got) != math.Float32bits(want) {
						t.Errorf("%s %+v: row %d of input %d: %v, want %v (tinyBLAS order: %v)", ks.name, c, r, i, got, want, c.gemm)
					}
				}
			}
		}
	}
}
