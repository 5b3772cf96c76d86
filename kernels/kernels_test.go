package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

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

// Back-to-back calls, and calls after the workers have gone to sleep, must
// all run every index once: no wake-up may be lost between spinning and
// blocking.
func TestPoolWakeups(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	task := &sumTask{hits: make([]int32, 50)}
	for i := 0; i < 3000; i++ {
		if i%500 == 499 {
			time.Sleep(20 * time.Millisecond) // long enough for the workers to block
		}
		p.Parallel(len(task.hits), 1+i%7, task)
	}
	for i, h := range task.hits {
		if h != 3000 {
			t.Fatalf("index %d run %d times, want 3000", i, h)
		}
	}
}

// MatMul must equal the float64 product of the dequantized weights with the
// activations as quantized for them (quant.QuantizeActivations), within float
// rounding, on every kernel set, for decode (n=1), a batch of four and odd
// batches that take both the four-row and single-row paths.
func TestMatMulMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, cols = 37, 512
	for _, ks := range kernelSets {
		p := NewPool(2)
		p.ks = ks
		for _, typ := range dotTypes {
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
			at := quant.VecDotType(typ)
			tol := 1e-5
			if at == quant.Q8_1 {
				tol = 2e-3 // the dot uses the block sums Q8_1 stores rounded to f16
			}
			for _, n := range []int{1, 4, 7} {
				x := make([]float32, n*cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				out := make([]float32, n*rows)
				p.MatMul(out, w, x, n, make([]byte, ActivationBytes(typ, cols, n)))
				arb, _ := at.RowSize(cols)
				act := make([]byte, arb)
				xq := make([]float32, cols)
				for i := 0; i < n; i++ {
					if err := quant.QuantizeActivations(at, x[i*cols:(i+1)*cols], act); err != nil {
						t.Fatal(err)
					}
					if err := quant.Dequantize(at, act, xq); err != nil {
						t.Fatal(err)
					}
					for r := 0; r < rows; r++ {
						var want, mag float64
						for c := 0; c < cols; c++ {
							v := float64(deq[r*cols+c]) * float64(xq[c])
							want += v
							mag += math.Abs(v)
						}
						if got := float64(out[i*rows+r]); math.Abs(got-want) > tol*mag {
							t.Errorf("%s %s n=%d: out[%d][%d] = %v, want %v (magnitude %g)", ks.name, typ, n, i, r, got, want, mag)
						}
					}
				}
			}
		}
		p.Close()
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
