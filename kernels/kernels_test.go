package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

type sumTask struct{ hits []int32 }

func (s *sumTask) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		s.hits[i]++
	}
}

func TestPoolCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 7, 100, 1001} {
			for _, grain := range []int{1, 3, 64} {
				task := &sumTask{hits: make([]int32, n)}
				p.Parallel(n, grain, task)
				for i, h := range task.hits {
					if h != 1 {
						t.Fatalf("threads %d n %d grain %d: index %d run %d times", threads, n, grain, i, h)
					}
				}
			}
		}
		p.Close()
	}
}

// MatMul must equal a float64 product of the dequantized weights with the
// activations, within the error of quantizing the activations.
func TestMatMulMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := NewPool(2)
	defer p.Close()
	const rows, cols, n = 37, 512, 3
	for _, typ := range []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		wf := make([]float32, rows*cols)
		for i := range wf {
			wf[i] = float32(rng.NormFloat64())
		}
		rb, _ := typ.RowSize(cols)
		data := make([]byte, rows*rb)
		if err := quant.Quantize(typ, wf, data); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		deq := make([]float32, rows*cols)
		if err := quant.Dequantize(typ, data, deq); err != nil {
			t.Fatal(err)
		}
		w, err := NewMatrix(typ, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, n*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		out := make([]float32, n*rows)
		p.MatMul(out, w, x, n, make([]byte, ActivationBytes(typ, cols, n)))
		tol := 1e-5
		if quant.VecDotType(typ) != quant.F32 {
			tol = 1e-2 // activations rounded to 8 bits (or 16-bit floats)
		}
		var maxErr, scale float64
		for i := 0; i < n; i++ {
			for r := 0; r < rows; r++ {
				var want float64
				for c := 0; c < cols; c++ {
					want += float64(deq[r*cols+c]) * float64(x[i*cols+c])
				}
				maxErr = math.Max(maxErr, math.Abs(float64(out[i*rows+r])-want))
				scale = math.Max(scale, math.Abs(want))
			}
		}
		if maxErr/scale > tol {
			t.Errorf("%s: max error %.3g of scale %.3g exceeds relative %g", typ, maxErr, scale, tol)
		}
	}
}

func TestRopeLayouts(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	cs := make([]float32, 4)
	r := Rope{Dims: 4, Base: 10000, FreqScale: 1}
	r.Thetas(cs, 0)
	r.Apply(x, 1, 4, cs)
	for i, v := range []float32{1, 2, 3, 4} {
		if x[i] != v {
			t.Fatalf("position 0 must not rotate: %v", x)
		}
	}
	// At position 1, pair 0 rotates by 1 radian; NeoX pairs (0,2), normal (0,1).
	for _, neox := range []bool{false, true} {
		x := []float32{1, 0, 0, 0}
		r := Rope{Dims: 4, Base: 10000, FreqScale: 1, NeoX: neox}
		r.Thetas(cs, 1)
		r.Apply(x, 1, 4, cs)
		partner := 1
		if neox {
			partner = 2
		}
		if math.Abs(float64(x[0])-math.Cos(1)) > 1e-6 || math.Abs(float64(x[partner])-math.Sin(1)) > 1e-6 {
			t.Errorf("neox=%v: got %v", neox, x)
		}
	}
}
